-- Argo CD health of every Housekeeper kind (ClickHouseConnection, ClickHouseMigration,
-- RetentionPolicy, ClickHouseBackup, ClickHouseRestore, ReportMart), from the standard conditions
-- (Ready, Progressing, Degraded) and the phase each kind writes. Install it once per kind as
-- resource.customizations.health.housekeeper.dev_<Kind> in argocd-cm (see docs/install.md, "Argo CD").
local hs = {}
local function condition(conditions, type)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Housekeeper operator to report"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "The operator has not acted on the latest spec yet"
  return hs
end

local ready = condition(obj.status.conditions, "Ready")
local progressing = condition(obj.status.conditions, "Progressing")
local degraded = condition(obj.status.conditions, "Degraded")
local phase = obj.status.phase
local message = ""
if ready ~= nil and ready.message ~= nil then
  message = ready.message
end

-- a failed migration or one whose applied scripts changed needs a person: never "Progressing"
if phase == "Dirty" or phase == "Drift" or phase == "Failed" then
  hs.status = "Degraded"
  hs.message = message
  return hs
end
if progressing ~= nil and progressing.status == "True" then
  hs.status = "Progressing"
  if progressing.message ~= nil and progressing.message ~= "" then
    hs.message = progressing.message
  else
    hs.message = message
  end
  return hs
end
if ready ~= nil and ready.status == "True" then
  if degraded ~= nil and degraded.status == "True" then
    hs.status = "Degraded"
    hs.message = degraded.message or message
    return hs
  end
  if obj.spec ~= nil and (obj.spec.suspend == true or (obj.spec.refresh ~= nil and obj.spec.refresh.suspend == true)) then
    hs.status = "Suspended"
    hs.message = message
    return hs
  end
  hs.status = "Healthy"
  hs.message = message
  return hs
end
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = message
  return hs
end
-- not Ready, nothing failed: waiting (for a connection, a Secret, a first run)
hs.status = "Progressing"
hs.message = message
return hs
