# People helpers shared by the golive policies: does a {name, email} object name one person,
# not a team, a group or a shared mailbox? No deny rules.
package golive.lib.people

import rego.v1

import data.golive.lib.fields

# Whole words (split on anything but a-z and 0-9) that mark a team, a group or a shared mailbox.
alias_words := {
	"admin", "admins", "all", "devops", "devs", "dl", "engineering", "everyone", "group", "groups",
	"helpdesk", "list", "noreply", "oncall", "ops", "platform", "sre", "squad", "staff", "support",
	"team", "teams",
}

# Fragments that mark an alias even inside a longer word, e.g. "platformteam" or "fin-noreply".
# One regex rather than a `contains` per fragment: one builtin call per name.
alias_fragment_pattern := `admins|devops|engineering|group|helpdesk|no-reply|noreply|oncall|platform|squad|support|team`

email_pattern := `^[^@\s]+@[^@\s]+\.[^@\s]+$`

# words(s) is the set of lowercase alphanumeric words of s.
words(s) := {w | some w in regex.split(`[^a-z0-9]+`, lower(s)); w != ""}

# local_part(email) is the part of an email address before the last "@".
local_part(email) := parts[count(parts) - 2] if {
	parts := split(email, "@")
	count(parts) > 1
} else := email

# alias_pattern matches a lowercase string that has one of alias_words as a whole word (between
# characters other than a-z and 0-9, as words() splits) or one of the fragments anywhere.
alias_pattern := concat("", ["(^|[^a-z0-9])(", concat("|", alias_words), ")([^a-z0-9]|$)|", alias_fragment_pattern])

# is_alias(s) is true when s looks like a team or group alias: one regular expression on the
# lowercase string (the same answer as intersecting words(s) with alias_words, or matching a
# fragment, at one builtin call instead of a split, a set and two matches per name).
is_alias(s) if regex.match(alias_pattern, lower(s))

# is_person_name(s) is true when s has at least two words, e.g. "Dana Ruiz".
is_person_name(s) if regex.match(`^\S+(\s+\S+)+$`, trim_space(s))

# problems(person, role) is the set of {"attr", "msg"} problems of a {name, email} object:
# attr is "" (the object itself), "name" or "email"; role names the person in messages.
problems(person, role) := {{"attr": "", "msg": msg}} if {
	not is_object(person)
	msg := concat("", ["no ", role, " declared; name one person (first and last name) with a personal email"])
} else := name_problems(person, role) | email_problems(person, role)

name_problems(person, role) := {{"attr": "name", "msg": msg}} if {
	fields.blank(object.get(person, "name", ""))
	msg := concat("", [role, " has no name; give the first and last name of one person"])
} else := {{"attr": "name", "msg": msg}} if {
	is_alias(person.name)
	msg := concat("", [
		role, ` "`, person.name,
		`" looks like a team alias; name one person (first and last name) with a personal email`,
	])
} else := {{"attr": "name", "msg": msg}} if {
	not is_person_name(person.name)
	msg := concat("", [role, ` name "`, person.name, `" is a single word; give the first and last name of one person`])
} else := set()

email_problems(person, role) := {{"attr": "email", "msg": msg}} if {
	fields.blank(object.get(person, "email", ""))
	msg := concat("", [role, " has no email; give the personal email of one person"])
} else := {{"attr": "email", "msg": msg}} if {
	not regex.match(email_pattern, trim_space(person.email))
	msg := concat("", [
		role, ` email "`, person.email,
		`" is not an email address; expected name@domain, e.g. dana.ruiz@example.com`,
	])
} else := {{"attr": "email", "msg": msg}} if {
	is_alias(local_part(person.email))
	msg := concat("", [
		role, ` email "`, person.email,
		`" looks like a shared mailbox; give the personal email of one person`,
	])
} else := set()
