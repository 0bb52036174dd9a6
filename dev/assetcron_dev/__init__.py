"""``assetcron dev``: the local control plane (real etcd, kube-apiserver, controller manager),
the local pod executor that stands in for a node, and the binaries they are built from.

A development and test tool: nothing here runs on a real cluster.
"""
