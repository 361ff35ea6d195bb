-- Argo CD health check for golive.dev/AgentDeployment.
-- Install: argocd-cm key resource.customizations.health.golive.dev_AgentDeployment (see
-- argocd-cm.yaml beside this file and docs/argocd.md). Tested by
-- tests/unit/test_argocd_health.py on the fixtures in health_test.yaml.
--
-- Uses only what Argo CD gives a custom health script: the global `obj` and Lua's base library
-- (no string library, no require).
--
--   Healthy      Admitted=True and Ready=True for the current generation
--   Progressing  no status yet; golive has not observed the current generation; admitted but
--                the Deployment is not ready yet; being deleted
--   Degraded     Admitted=False: the go-live checklist blocks this generation (the message is
--                the Admitted condition's reason and message)
--   Unknown      Admitted=Unknown: golive could not decide (e.g. EngineUnavailable, PolicyError)
local hs = {}

local function text(value)
  if value == nil then
    return ""
  end
  return tostring(value)
end

local function describe(condition)
  local reason = text(condition.reason)
  local message = text(condition.message)
  if reason ~= "" and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= "" then
    return message
  end
  return reason
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion"
  return hs
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for golive to evaluate the go-live checklist"
  return hs
end

local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for golive to evaluate generation " .. text(generation)
  return hs
end

local admitted = nil
local ready = nil
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Admitted" then
    admitted = condition
  elseif condition.type == "Ready" then
    ready = condition
  end
end

if admitted == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for golive to evaluate the go-live checklist"
  return hs
end

-- A condition set for an older generation says nothing about the current one.
if generation ~= nil and admitted.observedGeneration ~= nil and admitted.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for golive to evaluate generation " .. text(generation)
  return hs
end

if admitted.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(admitted)
  return hs
end

if admitted.status ~= "True" then
  hs.status = "Unknown"
  hs.message = describe(admitted)
  if hs.message == "" then
    hs.message = "golive could not decide whether the agent may go live"
  end
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  if hs.message == "" then
    hs.message = "Admitted and ready"
  end
  return hs
end

hs.status = "Progressing"
if ready ~= nil and describe(ready) ~= "" then
  hs.message = "Admitted; waiting for the Deployment: " .. describe(ready)
else
  hs.message = "Admitted; waiting for the Deployment to become available"
end
return hs
