"""The build module of SeaweedFS's ``weed`` (the dev plane's S3 server)."""

from __future__ import annotations

from assetcron_dev.binaries import SEAWEEDFS_VERSION, weed_build_module_text

GO_MOD = """module github.com/seaweedfs/seaweedfs

go 1.26.6

require (
\tcloud.google.com/go v0.123.0 // indirect
)

// replace github.com/seaweedfs/raft => /Users/someone/go/src/github.com/seaweedfs/raft

replace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0
"""


def test_weed_build_module_repeats_the_version_replaces() -> None:
    text = weed_build_module_text(GO_MOD)
    assert text == (
        "module assetcron.dev/seaweedfs-build\n\n"
        "go 1.26.6\n\n"
        f"require github.com/seaweedfs/seaweedfs {SEAWEEDFS_VERSION}\n\n"
        "replace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0\n"
    )


def test_weed_build_module_reads_replace_blocks_and_skips_local_paths() -> None:
    text = weed_build_module_text(
        "module x\n\ngo 1.25.0\n\nreplace (\n"
        "\ta.example/one v1.0.0 => b.example/one v1.2.0\n"
        "\ta.example/two => ../two\n"
        ")\n"
    )
    replaces = [line for line in text.splitlines() if line.startswith("replace")]
    assert replaces == ["replace a.example/one v1.0.0 => b.example/one v1.2.0"]
    assert "\ngo 1.26.0\n" in text  # never below what the other build modules declare
