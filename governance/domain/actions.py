"""The actions an agent can take, as the delegation policy names them.

The gate (``approvals``) decides each one by the policy; the app that owns it carries it
out (``governance.executors``)."""

from enum import StrEnum


class ActionType(StrEnum):
    DRAFT_CONTENT = "draft_content"
    PUBLISH_CONTENT = "publish_content"
    LAUNCH_CAMPAIGN = "launch_campaign"
    CHANGE_BUDGET = "change_budget"
    REALLOCATE_BUDGET = "reallocate_budget"
    SELECT_AUDIENCE = "select_audience"
    SUPPRESS_CONTACTS = "suppress_contacts"
    SEND_EMAIL = "send_email"
    PAUSE = "pause"
    UPDATE_BRAND_MEMORY = "update_brand_memory"
    CHANGE_POLICY = "change_policy"
    # The system, from an agent's track record, recommending one more step of autonomy
    # for an action type (``approvals.services.autonomy``): an admin decides.
    ADJUST_AUTONOMY = "adjust_autonomy"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()
