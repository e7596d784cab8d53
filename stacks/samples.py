"""Sample sandboxed workloads the stacks deploy, so that every environment proves the sandbox."""

from kubesandbox import Resources, Runtime, Workload


def nginx(runtime: Runtime, replicas: int) -> Workload:
    """The nginx pod of the Kubernetes RuntimeClass and gVisor tutorials, made restricted-safe.

    The tutorials' `nginx` image runs as root; its unprivileged build serves on 8080 as UID 101.
    """
    return Workload(
        name="nginx",
        image="nginxinc/nginx-unprivileged:1.27.5-alpine",
        runtime=runtime,
        replicas=replicas,
        port=8080,
        run_as_user=101,
        writable_paths=("/tmp", "/var/cache/nginx"),
        resources=Resources(cpu="100m", memory="128Mi"),
    )


def code_runner(runtime: Runtime, replicas: int) -> Workload:
    """Jupyter kernels executing Python that users submit: the untrusted code a sandbox is for.

    It gets no egress at all and no Kubernetes credentials; its home is scratch space that
    disappears with the pod.
    """
    return Workload(
        name="code-runner",
        image="quay.io/jupyter/base-notebook:python-3.12",
        runtime=runtime,
        replicas=replicas,
        port=8888,
        run_as_user=1000,
        command=("start-notebook.py",),
        args=("--ServerApp.ip=0.0.0.0", "--ServerApp.port=8888"),
        env={"HOME": "/home/jovyan", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime"},
        writable_paths=("/tmp", "/home/jovyan"),
        scratch_size="1Gi",
        resources=Resources(cpu="500m", memory="1Gi", cpu_limit="1", memory_limit="1Gi"),
        progress_deadline_seconds=420,
    )
