"""infra/ evaluated with a set of app JSON files, without terraform or AWS.

tfparse (Aqua Security's Terraform evaluator, the one behind trivy) expands
variables, locals, `for_each` and module calls, and reads the JSON through
the configuration's own `jsondecode(file(...))`. Values only AWS would know
(ARNs, IDs) come back as the ID of the block they refer to, so references
between resources can still be followed.
"""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tfparse

from .paths import CONFIG, INFRA

# Inputs the root requires and the evaluation does not care about.
TFVARS = 'region = "eu-west-1"\n'


@dataclass
class Evaluated:
    raw: dict

    def resources(self, type_: str) -> list[dict]:
        return [r for r in self.raw.get(type_, []) if r["__tfmeta"].get("type") == "resource"]

    def by_id(self, id_: str) -> dict | None:
        for items in self.raw.values():
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and item.get("id") == id_:
                    return item
        return None

    def locals(self, module: str) -> dict:
        """The evaluated locals of a module (`module.ecs`), or of the root ("")."""
        path = f"{module}.locals" if module else "locals"
        merged = {}
        for block in self.raw.get("locals", []):
            if block["__tfmeta"].get("path") == path:
                merged.update({k: v for k, v in block.items() if k not in ("__tfmeta", "id")})
        return merged


def evaluate(config_dir: Path = CONFIG, infra_dir: Path = INFRA, tfvars: str = TFVARS) -> Evaluated:
    """Evaluates a copy of infra_dir beside a copy of config_dir (the layout
    infra/apps.tf expects: ../config), so that neither is touched."""
    with tempfile.TemporaryDirectory(prefix="infra-contract-") as tmp:
        work = Path(tmp)
        shutil.copytree(infra_dir, work / "infra", ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
        shutil.copytree(config_dir, work / "config")
        (work / "infra" / "contract.tfvars").write_text(tfvars)
        raw = tfparse.load_from_path(str(work / "infra"), vars_paths=["contract.tfvars"])
    return Evaluated(raw)
