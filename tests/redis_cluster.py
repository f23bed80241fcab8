"""A throwaway local Redis Cluster (3 masters, 3 replicas) on free loopback ports, for tests.

Six `redis-server --cluster-enabled yes` processes without persistence, joined by
`redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`; `cluster-node-timeout` is low so a
killed master's replica takes over within a couple of seconds. Every process is stopped by its PID.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from tests.redis_server import _ping, stop_process

NODE_TIMEOUT_MS = 1000
# A cluster node also listens on port + 10000 (the cluster bus), so ports stay below 55536.
PORT_RANGE = (20000, 45000)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_cluster_port(taken: set[int]) -> int:
    """A port whose cluster bus port (+10000) is free too."""
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(*PORT_RANGE)
        if port not in taken and port + 10000 not in taken and _bindable(port) and _bindable(port + 10000):
            taken.update({port, port + 10000})
            return port
    raise RuntimeError("no free port pair for a cluster node")


def cluster_binaries() -> bool:
    """Whether redis-server and redis-cli are both installed."""
    return shutil.which("redis-server") is not None and shutil.which("redis-cli") is not None


def _cli(port: int, *args: str, timeout: float = 5.0) -> str:
    out = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return out.stdout


@dataclass
class ClusterNodeProcess:
    """One redis-server of the cluster."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class RedisClusterProcesses:
    """The six processes and helpers to inspect the cluster and kill a master."""

    nodes: list[ClusterNodeProcess]
    workdir: tempfile.TemporaryDirectory[str] = field(repr=False)

    @property
    def url(self) -> str:
        """redis:// URL of the first node (RedisCluster discovers the others)."""
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def live_nodes(self) -> list[ClusterNodeProcess]:
        return [n for n in self.nodes if n.alive]

    def keyslot(self, key: str) -> int:
        """CLUSTER KEYSLOT of a key, asked of a live node."""
        return int(_cli(self.live_nodes()[0].port, "cluster", "keyslot", key).strip())

    def master_of_slot(self, slot: int) -> int:
        """The port of the master serving `slot`, as a live node's CLUSTER NODES says."""
        for line in _cli(self.live_nodes()[0].port, "cluster", "nodes").splitlines():
            parts = line.split()
            if len(parts) < 9 or "master" not in parts[2] or "fail" in parts[2]:
                continue
            for item in parts[8:]:
                if item.startswith("["):
                    continue
                low, _, high = item.partition("-")
                if int(low) <= slot <= int(high or low):
                    return int(parts[1].split(":")[1].split("@")[0])
        raise LookupError(f"no master serves slot {slot}")

    def cluster_ok(self) -> bool:
        """Every live node says cluster_state:ok."""
        return all("cluster_state:ok" in _cli(n.port, "cluster", "info") for n in self.live_nodes())

    def wait_ok(self, timeout_s: float = 20.0) -> float:
        """Wait until every live node reports ok; returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.cluster_ok():
                return time.monotonic() - started
            time.sleep(0.05)
        raise RuntimeError("the cluster did not become ok")

    def kill_master_of(self, key: str) -> ClusterNodeProcess:
        """SIGKILL the master that serves `key`'s slot (by its PID); returns it."""
        port = self.master_of_slot(self.keyslot(key))
        node = next(n for n in self.nodes if n.port == port)
        node.process.send_signal(signal.SIGKILL)
        node.process.wait(timeout=5)
        return node

    def wait_failover(self, slot: int, old_port: int, timeout_s: float = 20.0) -> float:
        """Wait until another master serves `slot` and the cluster is ok again; returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            try:
                if self.master_of_slot(slot) != old_port and self.cluster_ok():
                    return time.monotonic() - started
            except (LookupError, ValueError, IndexError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"no failover of slot {slot} within {timeout_s} s")

    def stop(self) -> None:
        """Stop every process by its PID and remove the working directory."""
        for node in self.nodes:
            node.stop()
        self.workdir.cleanup()


def start_redis_cluster(
    masters: int = 3, replicas: int = 1, ready_timeout_s: float = 30.0
) -> RedisClusterProcesses:
    """Start and join the cluster, then wait until every node says ok."""
    if not cluster_binaries():
        raise RuntimeError("redis-server and redis-cli are needed")
    workdir = tempfile.TemporaryDirectory(prefix="redis-cluster-test-")
    nodes: list[ClusterNodeProcess] = []
    cluster = RedisClusterProcesses(nodes=nodes, workdir=workdir)
    taken: set[int] = set()
    try:
        for i in range(masters * (1 + replicas)):
            port = _free_cluster_port(taken)
            args = [
                "redis-server",
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", workdir.name,
                "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{i}-{port}.conf",
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                # A replica takes over however long it was disconnected (the test kills masters).
                "--cluster-replica-validity-factor", "0",
            ]  # fmt: skip
            process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            nodes.append(ClusterNodeProcess(port=port, process=process))
        deadline = time.monotonic() + ready_timeout_s
        for node in nodes:
            while not _ping(node.port):
                if time.monotonic() > deadline or not node.alive:
                    raise RuntimeError(f"redis-server on {node.port} did not start")
                time.sleep(0.02)
        create = subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in nodes),
                "--cluster-replicas",
                str(replicas),
                "--cluster-yes",
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=ready_timeout_s,
            check=False,
        )
        if create.returncode != 0:
            raise RuntimeError(
                f"redis-cli --cluster create failed: {create.stdout[-500:]}{create.stderr[-500:]}"
            )
        cluster.wait_ok(ready_timeout_s)
        _wait_replicas_synced(cluster, ready_timeout_s)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_replicas_synced(cluster: RedisClusterProcesses, timeout_s: float) -> None:
    """Every replica has its master's link up (else a killed master could have no electable replica)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        roles = [_cli(n.port, "info", "replication") for n in cluster.nodes]
        replicas = [r for r in roles if "role:slave" in r]
        if len(replicas) == len(cluster.nodes) // 2 and all("master_link_status:up" in r for r in replicas):
            return
        time.sleep(0.05)
    raise RuntimeError("replicas did not sync")
