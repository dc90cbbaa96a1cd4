// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var _ = Describe("SecretsStoreImport of type KubernetesSecret", func() {
	It("creates the Secret with the store's data, its type, labels and owner, and reports Ready", func(ctx SpecContext) {
		ns := newNamespace(ctx, "create")
		id := newIdentity(ctx, ns, ns+"/db")
		user, password := value("user"), value("password")
		putSecret(ctx, ns+"/db", map[string]any{"username": user, "password": password, "port": 5432})
		spec := syncSpec(id, "db-creds",
			keyFile("username", ns+"/db", "username"),
			keyFile("password", ns+"/db", "password"),
			map[string]any{"name": "dsn", "template": "postgres://{{ .username }}:{{ .password }}@db:{{ .port }}/app",
				"source": map[string]any{"path": testenv.KVMount + "/data/" + ns + "/db"}},
			map[string]any{"name": "all.json", "source": map[string]any{"path": testenv.KVMount + "/data/" + ns + "/db"}},
		)
		spec["secret"] = map[string]any{"name": "db-creds", "type": "kubernetes.io/basic-auth",
			"labels": map[string]any{"team": "payments"}, "annotations": map[string]any{"owner": "payments"}}
		applyImport(ctx, ns, "db", spec)

		Expect(secretData(ctx, ns, "db-creds")).To(Equal(map[string]string{
			"username": user, "password": password,
			"dsn":      "postgres://" + user + ":" + password + "@db:5432/app",
			"all.json": `{"password":"` + password + `","port":5432,"username":"` + user + `"}`,
		}))
		s, err := getSecret(ctx, ns, "db-creds")
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Type).To(Equal(corev1.SecretType("kubernetes.io/basic-auth")))
		Expect(s.Labels).To(HaveKeyWithValue("team", "payments"))
		Expect(s.Labels).To(HaveKeyWithValue(labelManaged, "true"))
		Expect(s.Annotations).To(HaveKeyWithValue("owner", "payments"))
		Expect(s.Annotations).To(HaveKeyWithValue(annotationImport, "db"))
		Expect(s.Annotations).To(HaveKeyWithValue(annotationKeys, "all.json,dsn,password,username"))
		Expect(s.Annotations[annotationDataHMAC]).To(MatchRegexp("^[0-9a-f]{64}$"))
		for _, a := range s.Annotations {
			Expect(a).NotTo(ContainSubstring(password), "an annotation holds the value")
		}

		ssi := getImport(ctx, ns, "db")
		Expect(s.OwnerReferences).To(ConsistOf(HaveField("UID", ssi.GetUID())))
		Expect(*s.OwnerReferences[0].Controller).To(BeTrue())
		Expect(ssi.GetFinalizers()).To(ContainElement(finalizer))

		synced := waitCondition(ctx, ns, "db", "Synced", "True", "Synced")
		Expect(synced.Message).To(ContainSubstring("ServiceAccount " + ns + "/app"))
		ready := waitCondition(ctx, ns, "db", "Ready", "True", "SecretReady")
		Expect(ready.Message).To(Equal("Secret " + ns + "/db-creds is up to date"))
		ssi = getImport(ctx, ns, "db")
		Expect(ssi.Object["status"]).To(HaveKey("lastSyncTime"))
		Eventually(ctx, events(ns, "db")).Should(HaveKeyWithValue("Created", ContainElement(ContainSubstring("created Secret "+ns+"/db-creds with 4 key(s)"))))

		By("the metrics count the reconcile, the store's answers and the managed Secret")
		Expect(metric(ctx, "secrets_store_controller_reconciles_total", map[string]string{"controller": "secret-sync", "result": "ok"})).To(BeNumerically(">=", 1))
		Expect(metric(ctx, "secrets_store_controller_store_requests_total", map[string]string{"operation": "read", "result": "ok"})).To(BeNumerically(">=", 1))
		Expect(metric(ctx, "secrets_store_controller_store_requests_total", map[string]string{"operation": "login", "result": "ok"})).To(BeNumerically(">=", 1))
		Expect(metric(ctx, "secrets_store_controller_sync_duration_seconds_count", nil)).To(BeNumerically(">=", 1))
		Expect(metric(ctx, "secrets_store_controller_secrets_managed", nil)).To(BeNumerically(">=", 1))
		Expect(metric(ctx, "secrets_store_controller_secret_writes_total", map[string]string{"operation": "create"})).To(BeNumerically(">=", 1))
	})

	It("brings a change in the store after the refresh, and writes nothing when nothing changed", func(ctx SpecContext) {
		ns := newNamespace(ctx, "refresh")
		id := newIdentity(ctx, ns, ns+"/db")
		putSecret(ctx, ns+"/db", map[string]any{"password": value("old")})
		spec := syncSpec(id, "db", keyFile("password", ns+"/db", "password"))
		// The shortest interval the CRD allows.
		spec["refreshInterval"] = "30s"
		applyImport(ctx, ns, "db", spec)
		secretData(ctx, ns, "db")
		waitCondition(ctx, ns, "db", "Ready", "True", "SecretReady")
		before, err := getSecret(ctx, ns, "db")
		Expect(err).NotTo(HaveOccurred())

		By("refreshes of an unchanged secret leave the Secret as it is, and the import's status until lastSyncTime is --last-sync-time-interval old")
		first := lastSyncTime(ctx, ns, "db")
		w, err := dyn.Resource(ssiResource).Namespace(ns).Watch(ctx, metav1.ListOptions{
			FieldSelector: "metadata.name=db", ResourceVersion: getImport(ctx, ns, "db").GetResourceVersion()})
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()
		// The refresh 30 s after the first sync finds the data unchanged and
		// lastSyncTime younger than the suite's 45 s: no write. The one at
		// 60 s writes lastSyncTime, and nothing else.
		writes := 0
		for moved := false; !moved; {
			var ev watch.Event
			Eventually(ctx, w.ResultChan()).WithTimeout(100*time.Second).Should(Receive(&ev), "no change of the import after %d", writes)
			Expect(ev.Type).To(Equal(watch.Modified))
			writes++
			v, _, _ := unstructured.NestedString(ev.Object.(*unstructured.Unstructured).Object, "status", "lastSyncTime")
			at, err := time.Parse(time.RFC3339, v)
			Expect(err).NotTo(HaveOccurred())
			moved = at.After(first)
		}
		Expect(writes).To(Equal(1), "the import was written by refreshes that found nothing changed")
		Expect(lastSyncTime(ctx, ns, "db")).To(BeTemporally(">=", first.Add(45*time.Second)))
		after, err := getSecret(ctx, ns, "db")
		Expect(err).NotTo(HaveOccurred())
		Expect(after.ResourceVersion).To(Equal(before.ResourceVersion), "the Secret was written without a change")

		By("a new value in the store reaches the Secret")
		fresh := value("new")
		putSecret(ctx, ns+"/db", map[string]any{"password": fresh})
		Eventually(ctx, func() map[string]string { return secretData(ctx, ns, "db") }).
			WithTimeout(75 * time.Second).Should(Equal(map[string]string{"password": fresh}))
		Eventually(ctx, events(ns, "db")).
			Should(HaveKeyWithValue("Updated", ContainElement(ContainSubstring("the store's data changed"))))
	})

	It("reverts a manual edit of the Secret and recreates it when deleted", func(ctx SpecContext) {
		ns := newNamespace(ctx, "drift")
		id := newIdentity(ctx, ns, ns+"/db")
		password := value("password")
		putSecret(ctx, ns+"/db", map[string]any{"password": password})
		// An hour: what follows is the watch's doing, not the refresh's.
		spec := syncSpec(id, "db", keyFile("password", ns+"/db", "password"))
		spec["refreshInterval"] = "1h"
		applyImport(ctx, ns, "db", spec)
		want := map[string]string{"password": password}
		Expect(secretData(ctx, ns, "db")).To(Equal(want))
		waitCondition(ctx, ns, "db", "Ready", "True", "SecretReady")

		By("editing a value and adding a key by hand")
		s, err := getSecret(ctx, ns, "db")
		Expect(err).NotTo(HaveOccurred())
		s.Data["password"] = []byte("edited-by-hand")
		s.Data["extra"] = []byte("added-by-hand")
		_, err = env.Kube.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(ctx, func() map[string]string { return secretData(ctx, ns, "db") }).
			WithTimeout(30 * time.Second).Should(Equal(want))
		Eventually(ctx, events(ns, "db")).Should(HaveKeyWithValue("Restored", ContainElement(ContainSubstring("changed outside the controller"))))

		By("deleting the Secret")
		Expect(env.Kube.CoreV1().Secrets(ns).Delete(ctx, "db", metav1.DeleteOptions{})).To(Succeed())
		Eventually(ctx, func() (map[string]string, error) {
			s, err := getSecret(ctx, ns, "db")
			if err != nil {
				return nil, err
			}
			return stringData(s), nil
		}).WithTimeout(30 * time.Second).Should(Equal(want))
		Eventually(ctx, events(ns, "db")).Should(HaveKeyWithValue("Restored", ContainElement(ContainSubstring("was deleted"))))
	})

	DescribeTable("deleting the import deals with the Secret per its deletion policy",
		func(ctx SpecContext, creation, deletion string, kept bool) {
			ns := newNamespace(ctx, "delete")
			id := newIdentity(ctx, ns, ns+"/db")
			password := value("password")
			putSecret(ctx, ns+"/db", map[string]any{"password": password})
			spec := syncSpec(id, "db", keyFile("password", ns+"/db", "password"))
			if creation != "" {
				spec["creationPolicy"] = creation
			}
			if deletion != "" {
				spec["deletionPolicy"] = deletion
			}
			spec["secret"] = map[string]any{"name": "db", "labels": map[string]any{"team": "a"}}
			applyImport(ctx, ns, "db", spec)
			secretData(ctx, ns, "db")
			waitCondition(ctx, ns, "db", "Ready", "True", "SecretReady")

			deleteImport(ctx, ns, "db")
			importGone(ctx, ns, "db")
			s, err := getSecret(ctx, ns, "db")
			if !kept {
				Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the Secret is still there (%v)", err)
				Eventually(ctx, events(ns, "db")).Should(HaveKey("Deleted"))
				return
			}
			Expect(err).NotTo(HaveOccurred())
			Expect(stringData(s)).To(Equal(map[string]string{"password": password}))
			Expect(s.OwnerReferences).To(BeEmpty(), "a garbage collector would delete it")
			Expect(s.Labels).To(Equal(map[string]string{"team": "a"}))
			Expect(s.Annotations).NotTo(HaveKey(annotationImport))
			Expect(s.Annotations).NotTo(HaveKey(annotationDataHMAC))
		},
		Entry("Owner, default Delete: deleted", "", "", false),
		Entry("Owner with Retain: kept, no longer managed", "", "Retain", true),
		Entry("Orphan, default Retain: kept", "Orphan", "", true),
		Entry("Orphan with Delete: deleted", "Orphan", "Delete", false),
	)

	It("merges into an existing Secret, keeps its other keys and takes only its own back", func(ctx SpecContext) {
		ns := newNamespace(ctx, "merge")
		id := newIdentity(ctx, ns, ns+"/db")
		password := value("password")
		putSecret(ctx, ns+"/db", map[string]any{"password": password})
		spec := syncSpec(id, "shared", keyFile("password", ns+"/db", "password"))
		spec["creationPolicy"] = "Merge"

		By("the Secret to merge into does not exist yet")
		applyImport(ctx, ns, "db", spec)
		missing := waitCondition(ctx, ns, "db", "Ready", "False", "SecretNotFound")
		Expect(missing.Message).To(ContainSubstring("Secret " + ns + "/shared does not exist"))
		_, err := getSecret(ctx, ns, "shared")
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Merge created the Secret (%v)", err)

		By("someone creates it; the import writes into it")
		_, err = env.Kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "shared", Labels: map[string]string{"owner": "team"}},
			Data:       map[string][]byte{"api-key": []byte("foreign"), "password": []byte("to-be-replaced")},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(ctx, func() map[string]string { return secretData(ctx, ns, "shared") }).
			WithTimeout(30 * time.Second).Should(Equal(map[string]string{"api-key": "foreign", "password": password}))
		waitCondition(ctx, ns, "db", "Ready", "True", "SecretReady")
		s, err := getSecret(ctx, ns, "shared")
		Expect(err).NotTo(HaveOccurred())
		Expect(s.OwnerReferences).To(BeEmpty())
		Expect(s.Labels).To(HaveKeyWithValue("owner", "team"))

		By("a foreign key added later is left alone")
		s.Data["other"] = []byte("also-foreign")
		_, err = env.Kube.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Consistently(ctx, func() map[string]string { return secretData(ctx, ns, "shared") }).
			WithTimeout(2 * time.Second).Should(HaveKeyWithValue("other", "also-foreign"))

		By("deleting the import removes its key only")
		deleteImport(ctx, ns, "db")
		importGone(ctx, ns, "db")
		s, err = getSecret(ctx, ns, "shared")
		Expect(err).NotTo(HaveOccurred())
		Expect(stringData(s)).To(Equal(map[string]string{"api-key": "foreign", "other": "also-foreign"}))
		Expect(s.Labels).To(Equal(map[string]string{"owner": "team"}))
	})

	It("does not touch a Secret it did not create, and says so", func(ctx SpecContext) {
		ns := newNamespace(ctx, "conflict")
		id := newIdentity(ctx, ns, ns+"/db")
		putSecret(ctx, ns+"/db", map[string]any{"password": value("password")})
		foreign, err := env.Kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "db"}, Data: map[string][]byte{"password": []byte("theirs")},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		applyImport(ctx, ns, "db", syncSpec(id, "db", keyFile("password", ns+"/db", "password")))

		c := waitCondition(ctx, ns, "db", "Ready", "False", "SecretConflict")
		Expect(c.Message).To(ContainSubstring("Secret " + ns + "/db exists and was not created by this SecretsStoreImport"))
		waitCondition(ctx, ns, "db", "Synced", "False", "SecretConflict")
		s, err := getSecret(ctx, ns, "db")
		Expect(err).NotTo(HaveOccurred())
		Expect(s.ResourceVersion).To(Equal(foreign.ResourceVersion))
		Eventually(ctx, events(ns, "db")).Should(HaveKey("SecretConflict"))

		By("deleting the import leaves the foreign Secret")
		deleteImport(ctx, ns, "db")
		importGone(ctx, ns, "db")
		s, err = getSecret(ctx, ns, "db")
		Expect(err).NotTo(HaveOccurred())
		Expect(s.ResourceVersion).To(Equal(foreign.ResourceVersion))
	})

	DescribeTable("a wrong identity or spec sets a clear condition and creates nothing",
		func(ctx SpecContext, edit func(ns string, spec map[string]any), reason, message string) {
			ns := newNamespace(ctx, "wrong")
			id := newIdentity(ctx, ns, ns+"/db", ns+"/missing")
			putSecret(ctx, ns+"/db", map[string]any{"password": value("password")})
			putSecret(ctx, ns+"/other", map[string]any{"password": value("other")})
			spec := syncSpec(id, "db", keyFile("password", ns+"/db", "password"))
			edit(ns, spec)
			applyImport(ctx, ns, "db", spec)

			synced := waitCondition(ctx, ns, "db", "Synced", "False", reason)
			Expect(synced.Message).To(ContainSubstring(strings.ReplaceAll(message, "NS", ns)))
			ready := waitCondition(ctx, ns, "db", "Ready", "False", "SecretNotCreated")
			Expect(ready.Message).To(ContainSubstring("Secret " + ns + "/db is not created"))
			Eventually(ctx, events(ns, "db")).Should(HaveKey(reason))
			_, err := getSecret(ctx, ns, "db")
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "a Secret was created (%v)", err)
		},
		Entry("a ServiceAccount that does not exist", func(_ string, s map[string]any) { s["serviceAccountName"] = "ghost" },
			"ServiceAccountNotFound", "ServiceAccount NS/ghost"),
		Entry("a role that does not admit the ServiceAccount", func(_ string, s map[string]any) { s["role"] = "no-such-role" },
			"LoginRefused", `log in as role "no-such-role"`),
		Entry("a path the policy does not allow", func(ns string, s map[string]any) {
			s["files"] = []any{keyFile("password", ns+"/other", "password")}
		}, "PermissionDenied", "secret/data/NS/other: permission denied"),
		Entry("a key the secret does not have", func(ns string, s map[string]any) {
			s["files"] = []any{keyFile("password", ns+"/db", "nope")}
		}, "KeyMissing", `key "nope" not found at secret/data/NS/db`),
		Entry("a path with nothing at it", func(ns string, s map[string]any) {
			s["files"] = []any{keyFile("password", ns+"/missing", "password")}
		}, "SecretPathNotFound", "secret/data/NS/missing: HTTP 404 (no secret at this path)"),
	)

	It("rolls out the named Deployment when the data changes, not when the Secret is first written", func(ctx SpecContext) {
		ns := newNamespace(ctx, "rollout")
		id := newIdentity(ctx, ns, ns+"/db")
		putSecret(ctx, ns+"/db", map[string]any{"password": value("v1")})
		createDeployment(ctx, ns, "web")
		spec := syncSpec(id, "db", keyFile("password", ns+"/db", "password"))
		spec["refreshInterval"] = "30s"
		spec["rolloutRestart"] = []any{
			map[string]any{"kind": "Deployment", "name": "web"},
			map[string]any{"kind": "StatefulSet", "name": "not-deployed"},
		}
		applyImport(ctx, ns, "db", spec)
		secretData(ctx, ns, "db")
		waitCondition(ctx, ns, "db", "Ready", "True", "SecretReady")
		Expect(templateAnnotations(ctx, ns, "web")).NotTo(HaveKey("secrets-store.deckhouse.io/restartedAt"))

		putSecret(ctx, ns+"/db", map[string]any{"password": value("v2")})
		readNow(ctx, ns, "db", spec)
		Eventually(ctx, func() map[string]string { return templateAnnotations(ctx, ns, "web") }).
			WithTimeout(30 * time.Second).Should(HaveKey("secrets-store.deckhouse.io/restartedAt"))
		Eventually(ctx, events(ns, "db")).Should(And(
			HaveKeyWithValue("RolloutRestarted", ContainElement(ContainSubstring("restarted Deployment/web"))),
			HaveKeyWithValue("RolloutTargetNotFound", ContainElement(ContainSubstring("StatefulSet/not-deployed")))))
		Eventually(ctx, func() map[string]string {
			s, err := getSecret(ctx, ns, "db")
			Expect(err).NotTo(HaveOccurred())
			return s.Annotations
		}).Should(Not(HaveKey("secrets-store.deckhouse.io/rollout-pending")))
	})
})

var _ = Describe("the store is down", Serial, func() {
	It("leaves the Secret as it is, says why, and syncs again when the store is back", func(ctx SpecContext) {
		ns := newNamespace(ctx, "down")
		id := newIdentity(ctx, ns, ns+"/db")
		password := value("password")
		putSecret(ctx, ns+"/db", map[string]any{"password": password})
		spec := syncSpec(id, "db", keyFile("password", ns+"/db", "password"))
		spec["refreshInterval"] = "30s"
		applyImport(ctx, ns, "db", spec)
		Expect(secretData(ctx, ns, "db")).To(Equal(map[string]string{"password": password}))
		waitCondition(ctx, ns, "db", "Ready", "True", "SecretReady")
		before, err := getSecret(ctx, ns, "db")
		Expect(err).NotTo(HaveOccurred())

		Expect(env.SealVault(ctx)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(env.UnsealVault(ctx)).To(Succeed()) })
		readNow(ctx, ns, "db", spec)
		synced := waitCondition(ctx, ns, "db", "Synced", "False", "StoreUnreachable")
		Expect(synced.Message).To(ContainSubstring("sealed"))
		ready := waitCondition(ctx, ns, "db", "Ready", "False", "SecretStale")
		Expect(ready.Message).To(ContainSubstring("Secret " + ns + "/db keeps the data of the last sync at"))
		s, err := getSecret(ctx, ns, "db")
		Expect(err).NotTo(HaveOccurred())
		Expect(s.ResourceVersion).To(Equal(before.ResourceVersion))
		Expect(stringData(s)).To(Equal(map[string]string{"password": password}))

		Expect(env.UnsealVault(ctx)).To(Succeed())
		fresh := value("after")
		putSecret(ctx, ns+"/db", map[string]any{"password": fresh})
		Eventually(ctx, func() map[string]string { return secretData(ctx, ns, "db") }).
			WithTimeout(45 * time.Second).Should(Equal(map[string]string{"password": fresh}))
		waitCondition(ctx, ns, "db", "Synced", "True", "Synced")
		waitCondition(ctx, ns, "db", "Ready", "True", "SecretReady")
	})
})

// readNow makes the controller read the store for the import at once, not
// at its next refresh: a new generation is read whatever the interval.
func readNow(ctx context.Context, ns, name string, spec map[string]any) {
	GinkgoHelper()
	if spec["refreshInterval"] == "30s" {
		spec["refreshInterval"] = "31s"
	} else {
		spec["refreshInterval"] = "30s"
	}
	applyImport(ctx, ns, name, spec)
}
