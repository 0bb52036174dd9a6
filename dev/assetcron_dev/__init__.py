"""``assetcron dev``: a one-machine Kubernetes cluster for developing and testing assetcron.

Real parts only: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and a node
(kubelet with containerd and runc), built or installed once and cached
(:mod:`assetcron_dev.binaries`, :mod:`assetcron_dev.node`); images built from the
Dockerfile with buildah and loaded into the node (:mod:`assetcron_dev.images`); the
operator installed with its Helm chart (:mod:`assetcron_dev.release`).

A development tool, like kubebuilder's envtest: the operator and the runner never import
it (import-linter contract), and nothing here runs on a real cluster.
"""
