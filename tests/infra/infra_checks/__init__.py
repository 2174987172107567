"""Static checks of the Terraform in infra/, for a machine with neither a
terraform binary nor an AWS account.

* :mod:`.hcl` reads every Terraform directory through HashiCorp's own HCL
  parser (bridge.js), and :mod:`.formatting` compares each file with
  HashiCorp's formatter.
* :mod:`.schema` checks resources, data sources and providers against the
  AWS provider's schema; :mod:`.wiring` checks module calls and references.
* :mod:`.evaluate` evaluates the configuration with the apps' JSON (tfparse),
  and :mod:`.contract` compares the result with what each JSON asks for.
* :mod:`.readme` keeps the modules' input and output tables true.

Every check returns a list of findings (strings naming the file and block);
an empty list means clean.
"""
