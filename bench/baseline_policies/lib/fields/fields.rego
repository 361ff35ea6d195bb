# Field helpers shared by the golive policies. No deny rules.
package golive.lib.fields

import rego.v1

# blank(x) is true when x is not a string or is only whitespace: a missing field read with
# object.get(..., "") is blank, so a missing field gives a violation instead of undefined.
blank(x) if not is_string(x)

blank(x) if {
	is_string(x)
	trim_space(x) == ""
}

# join(base, attr) appends attr to a dotted field path; an empty attr leaves the path as is.
join(base, "") := base

join(base, attr) := concat(".", [base, attr]) if attr != ""

# text(x) renders any value for a message: strings as they are, anything else as JSON.
text(x) := x if is_string(x)

text(x) := json.marshal(x) if not is_string(x)
