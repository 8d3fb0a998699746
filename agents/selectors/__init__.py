"""Every read of agent work, by job:

- ``timeline``: a campaign's agent work as its page shows it — the latest plan and
  report, and the timeline of runs with their handoffs and the gate's decisions;
- ``handoffs``: how one handoff is shown (parsed by its schema, else generically);
- ``records``: each agent's record over the brands someone may see (the agents page);
- ``experiments``: a campaign's experiments with their figures, and the traffic shares
  in force;
- ``common``: the agents in order, how an agent's name and a run's duration are written.

Everything in a handoff came from a model or from uploaded data, so it is untrusted:
these read models hand it on as plain strings and numbers for templates to escape,
never as markup.

Import from here; the modules are an implementation detail.
"""

from .common import AGENTS, agent_label, duration_label
from .experiments import (
    ExperimentView,
    campaign_experiments,
    channel_shares,
    current_shares,
    variant_label,
)
from .handoffs import DraftView, Entry, HandoffRef, HandoffView, PlanStepView, generic_entries
from .records import (
    QUALIFIED_SCORE,
    AgentRecord,
    AgentRunRow,
    RejectionReason,
    agent_failures,
    agent_has_runs,
    agent_recent_runs,
    agent_records,
    runs_for_user,
)
from .timeline import (
    TIMELINE_LIMIT,
    AgentWork,
    CampaignTimeline,
    CurrentPlan,
    DecisionView,
    LatestReport,
    RunView,
    campaign_agent_work,
    campaign_timeline,
    current_plan,
    latest_report,
)

__all__ = [
    "AGENTS",
    "QUALIFIED_SCORE",
    "TIMELINE_LIMIT",
    "AgentRecord",
    "AgentRunRow",
    "AgentWork",
    "CampaignTimeline",
    "CurrentPlan",
    "DecisionView",
    "DraftView",
    "Entry",
    "ExperimentView",
    "HandoffRef",
    "HandoffView",
    "LatestReport",
    "PlanStepView",
    "RejectionReason",
    "RunView",
    "agent_failures",
    "agent_has_runs",
    "agent_label",
    "agent_recent_runs",
    "agent_records",
    "campaign_agent_work",
    "campaign_experiments",
    "campaign_timeline",
    "channel_shares",
    "current_plan",
    "current_shares",
    "duration_label",
    "generic_entries",
    "latest_report",
    "runs_for_user",
    "variant_label",
]
