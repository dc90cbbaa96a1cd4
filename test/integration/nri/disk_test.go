// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package nri

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The trade-off of this way, measured: containerd keeps the container's
// spec, environment included, in its metadata database under its root
// (/var/lib/containerd on a node: disk) for the container's whole life, and
// writes it into the task's bundle under its state folder (/run/containerd:
// tmpfs) while the container runs. The docs cite these paths.
var _ = Describe("where a delivered value lives on the node", func() {
	const metaDB = "root/io.containerd.metadata.v1.bolt/meta.db"
	const bundle = "state/io.containerd.runtime.v2.task/k8s.io/<container>/config.json"

	It("is in containerd's meta.db from creation to removal and in the task's config.json while it runs", func(ctx SpecContext) {
		pod := admit(ctx, annotations(role), envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"))
		s := start(ctx, pod)
		c := container(pod)
		c.Command = []string{"/guest", "pause"} // keeps running until stopped
		id, err := rt.CreateContainer(ctx, s, c)
		Expect(err).NotTo(HaveOccurred())
		Expect(filesHolding(dbPassword, id, s.ID)).To(ConsistOf(metaDB), "created")

		Expect(rt.StartContainer(ctx, id)).To(Succeed())
		Expect(filesHolding(dbPassword, id, s.ID)).To(ConsistOf(metaDB, bundle), "running")

		_, err = rt.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 10})
		Expect(err).NotTo(HaveOccurred())
		_, err = rt.WaitExited(ctx, id)
		Expect(err).NotTo(HaveOccurred())
		// containerd deletes the task, and with it the bundle, as it handles
		// the exit: a moment after the status says exited.
		Eventually(func() []string { return filesHolding(dbPassword, id, s.ID) }).WithTimeout(10*time.Second).
			Should(ConsistOf(metaDB), "exited: the bundle is gone")

		Expect(rt.RemovePod(ctx, s.ID)).To(Succeed())
		// Not asserted for meta.db: bolt frees the record's pages without
		// clearing them, so whether the bytes outlive the removal depends on
		// page reuse, and the docs promise nothing there. The state folder
		// holds nothing of the container any more.
		left := filesHolding(dbPassword, id, s.ID)
		AddReportEntry("files holding the value after the pod's removal", left)
		Expect(left).NotTo(ContainElement(HavePrefix("state/")))
	})
})

// filesHolding lists the files under containerd's root and state folders
// that hold value, relative to the runtime's folder, the container's and
// sandbox's IDs written <container> and <sandbox>.
func filesHolding(value, container, sandbox string) []string {
	GinkgoHelper()
	var found []string
	for _, dir := range []string{rt.Root, rt.State} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if os.IsNotExist(err) {
				// Removed while the walk went on: a task's bundle going.
				return nil
			}
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(value)) {
				rel, _ := filepath.Rel(rt.Dir, path)
				found = append(found, strings.NewReplacer(container, "<container>", sandbox, "<sandbox>").Replace(rel))
			}
			return nil
		})
		Expect(err).NotTo(HaveOccurred())
	}
	return found
}
