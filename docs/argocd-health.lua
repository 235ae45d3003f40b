-- Argo CD health check for eventreplay.io/EventReplay (argocd-cm key
-- resource.customizations.health.eventreplay.io_EventReplay). Lua 5.1, as Argo CD runs it.
-- It reads the kstatus conditions the operator writes; the first matching rule wins:
--   no status, or status.observedGeneration < metadata.generation -> Progressing
--   Stalled=True (impossible plan, failed partitions)             -> Degraded, its message
--   Ready=True (replayed, promoted, or a dry run planned)         -> Healthy
--   a closed gate (AwaitingApproval, ThresholdExceeded, Suspended
--     on Ready, Promoted or Reconciled)                           -> Suspended, its message
--   anything else                                                 -> Progressing, Reconciling's message
local hs = {}

-- Reasons that mean "waiting for a person or a spec change", not "working" nor "broken".
local GATE_REASONS = {AwaitingApproval = true, ThresholdExceeded = true, Suspended = true}

local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function message(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick the replay up"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = message(stalled, "Stalled: " .. tostring(stalled.reason))
  return hs
end

local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = message(ready, "Ready")
  return hs
end

for _, kind in ipairs({"Ready", "Promoted", "Reconciled"}) do
  local c = condition(kind)
  if c ~= nil and c.status ~= "True" and GATE_REASONS[c.reason] then
    hs.status = "Suspended"
    hs.message = message(c, c.reason)
    return hs
  end
end

hs.status = "Progressing"
hs.message = message(condition("Reconciling"), message(ready, "Reconciling"))
return hs
