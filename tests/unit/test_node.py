"""The dev node's pure parts: its addresses and the configuration files it writes.

What they run is tested on the real node (``tests/integration/test_control_plane.py``);
these tests pin the settings that keep the node off the host: no iptables, no IP
forwarding, no sysctl rewritten, no registry contacted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assetcron_dev.node import Network, Node, missing_os_packages


def test_network_addresses_derive_from_one_index() -> None:
    net = Network(42)
    assert net.bridge == "acdev42"
    assert len(Network(249).bridge) <= 15  # Linux interface names
    assert (net.node_ip, net.pod_subnet) == ("10.244.42.1", "10.244.42.0/24")
    # The kubernetes Service takes the first address of the Service range: the API
    # server listens there, so pods' in-cluster config works without kube-proxy.
    assert (net.apiserver_ip, net.service_range) == ("10.96.42.1", "10.96.42.0/24")


@pytest.fixture
def node(tmp_path: Path) -> Node:
    n = Node(tmp_path, Network(42))
    n.write_configs(tmp_path / "pki" / "ca.crt")
    return n


def test_cni_plugin_adds_no_iptables_rule_and_no_ip_forwarding(node: Node) -> None:
    conf = json.loads((node.dir / "cni" / "net.d" / "10-assetcron-dev.conflist").read_text())
    bridge = conf["plugins"][0]
    assert bridge["type"] == "bridge"
    assert bridge["bridge"] == "acdev42"
    # isGateway would make the plugin write /proc/sys/net/ipv4/ip_forward; ipMasq adds
    # iptables rules. The gateway address is put on the bridge by the node itself.
    assert (bridge["isGateway"], bridge["ipMasq"]) == (False, False)
    # A route to the API server only: pods reach the node and the API, nothing else.
    assert bridge["ipam"]["routes"] == [{"dst": "10.96.42.1/32", "gw": "10.244.42.1"}]
    assert bridge["ipam"]["dataDir"].startswith(str(node.dir))


def test_kubelet_config_keeps_the_kubelet_off_the_host(node: Node) -> None:
    cfg = json.loads((node.dir / "kubelet.yaml").read_text())
    assert cfg["makeIPTablesUtilChains"] is False
    assert cfg["failCgroupV1"] is False
    assert (cfg["cgroupDriver"], cfg["cgroupRoot"]) == ("cgroupfs", "/assetcron-dev-42")
    assert cfg["containerRuntimeEndpoint"] == f"unix://{node.containerd_address}"
    assert cfg["address"] == cfg["healthzBindAddress"] == "10.244.42.1"
    assert cfg["podLogsDir"].startswith(str(node.dir))
    assert cfg["authentication"]["anonymous"]["enabled"] is False
    assert cfg["authorization"]["mode"] == "Webhook"
    # Loaded images cannot be pulled again: never garbage-collect them.
    assert cfg["imageGCHighThresholdPercent"] == 100


def test_kubelet_runs_in_its_own_mount_namespace_with_its_tunables_as_files(node: Node) -> None:
    argv = node.kubelet_argv(Path("/bin/kubelet"))
    assert argv[:4] == ["unshare", "--mount", "--propagation", "unchanged"]
    script = (node.dir / "kubelet-namespace.sh").read_text()
    for key in ("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"):
        assert f"/proc/sys/{key}" in script
        assert (node.dir / "sys" / key.replace("/", "_")).exists()
    assert "mount -t tmpfs" in script
    assert f"--node-ip={node.network.node_ip}" in argv


def test_containerd_has_its_own_state_and_never_reaches_a_registry(node: Node) -> None:
    toml = (node.dir / "containerd" / "config.toml").read_text()
    for line in ("root = ", "state = ", "address = "):
        value = next(v for v in toml.splitlines() if v.strip().startswith(line))
        assert str(node.dir) in value, value
    assert "restrict_oom_score_adj = true" in toml
    env = Node.containerd_env({"PATH": "/bin", "https_proxy": "http://proxy:3128"})
    assert env["PATH"] == "/bin"
    assert "https_proxy" not in env
    assert env["HTTPS_PROXY"] == env["HTTP_PROXY"] == "http://127.0.0.1:9"


def test_missing_os_packages_names_the_debian_packages(tmp_path: Path) -> None:
    present = tmp_path / "present"
    present.write_text("")
    packages = {"containerd": str(present), "runc": str(tmp_path / "absent")}
    assert missing_os_packages(packages) == ["runc"]


@pytest.mark.parametrize(("namespace", "claim"), [("..", "x"), ("ns", "../../etc"), ("a/b", "c")])
def test_a_volume_name_cannot_leave_the_volumes_directory(
    tmp_path: Path, namespace: str, claim: str
) -> None:
    from assetcron_dev.plane import ControlPlane, PlaneConfig, PlaneError

    plane = ControlPlane(PlaneConfig(state_dir=tmp_path))
    with pytest.raises(PlaneError, match="DNS"):
        plane.provide_volume(namespace, claim)
    assert not (tmp_path / "volumes").exists()
