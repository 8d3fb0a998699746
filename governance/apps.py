from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """The ground floor: the audit trail, actors, roles, who may do what, domain errors,
    and the registry through which the apps above react to one another. It imports no
    other app of the project; every other app stands on it."""

    name = "governance"
