import pytest

from governance.domain.roles import Role
from tests.factories import UserFactory


@pytest.fixture
def legal_a2(brand_a):
    """A second legal reviewer of brand A."""
    return UserFactory(username="legal-a2", role=Role.LEGAL, brands=[brand_a])


@pytest.fixture
def legal_b(brand_b):
    return UserFactory(username="legal-b", role=Role.LEGAL, brands=[brand_b])


@pytest.fixture
def manager_b(brand_b):
    """A manager of brand B only."""
    return UserFactory(username="manager-b", role=Role.MANAGER, brands=[brand_b])
