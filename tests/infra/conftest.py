"""Shared, expensive inputs, computed once per run."""

import json

import pytest

from infra_checks import evaluate, hcl, paths

# The environment and image tag the contract evaluation runs with; the
# expected container environment is derived from the same values.
CONTRACT_ENV = "staging"
CONTRACT_TAG = "v-contract"
CONTRACT_TFVARS = f'region = "eu-west-1"\nenvironment = "{CONTRACT_ENV}"\ninitial_image_tag = "{CONTRACT_TAG}"\n'


@pytest.fixture(scope="session")
def dirs():
    """Every Terraform directory under infra/, parsed."""
    return hcl.load()


@pytest.fixture(scope="session")
def app_configs():
    """The real app JSON files, as infra/apps.tf finds them."""
    return {p.stem: json.loads(p.read_text()) for p in paths.app_files()}


@pytest.fixture(scope="session")
def evaluated():
    """infra/ evaluated with the real config/."""
    return evaluate.evaluate(tfvars=CONTRACT_TFVARS)


def assert_findings(actual: list[str], expected: list[str]) -> None:
    """A check run on planted mistakes reports each of them, and nothing else."""
    assert sorted(actual) == sorted(expected), "\n".join(actual)
