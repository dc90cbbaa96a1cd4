// A stand-in for monis.app/mlog, which the module proxy refuses (403) and
// whose vanity host does not resolve here. It covers only what the
// secrets-store-csi-driver binary calls, on top of klog.
module monis.app/mlog

go 1.20

require k8s.io/klog/v2 v2.100.1
