"""Objects a published example expects by name that no earlier example in the catalogue creates.

A catalogue entry lists them under ``prepare``; each name here is one step, done with the SDK as an
administrator would have done it before running the script."""

from ovirtsdk4 import types


def _vm(name, cluster="mycluster", template="Blank"):
    def step(runner):
        vms = runner.connection().system_service().vms_service()
        if not vms.list(search="name=%s" % name):
            vms.add(types.Vm(name=name, cluster=types.Cluster(name=cluster), template=types.Template(name=template),
                             memory=1 << 30))
    return step


STEPS = {
    "vm myvm0": _vm("myvm0"),
}


def before(runner, entry):
    for name in entry.get("prepare", []) or []:
        STEPS[name](runner)
