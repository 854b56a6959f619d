package ssm

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
)

// The SSM agent's default hardware similarity threshold, in percent.
const defaultSimilarityThreshold = 40

// fingerprintRecord is Vault/Store/InstanceFingerprint. The fingerprint SSM
// sees is the random UUID, not a hash; the hardware hash is kept only so that
// a stock SSM agent on this host finds it similar and keeps the UUID.
type fingerprintRecord struct {
	Fingerprint         string            `json:"fingerprint"`
	HardwareHash        map[string]string `json:"hardwareHash"`
	SimilarityThreshold int               `json:"similarityThreshold"`
}

// fingerprint returns the stored fingerprint, or "" (and an error matching
// fs.ErrNotExist) if there is none.
func (v vault) fingerprint() (string, error) {
	b, err := v.load(vaultKeyPrint)
	if err != nil {
		return "", err
	}
	var r fingerprintRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return "", fmt.Errorf("fingerprint record in %s: %w", v.root, err)
	}
	if r.Fingerprint == "" {
		return "", fmt.Errorf("fingerprint record in %s is empty: %w", v.root, fs.ErrNotExist)
	}
	return r.Fingerprint, nil
}

// ensureFingerprint returns the stored fingerprint, making and storing a new
// one only if there is none. ecsd never replaces a fingerprint because the
// hardware drifted (the SSM agent does, and the host then needs a new
// activation); only registering with a cleared vault makes a new one.
func (v vault) ensureFingerprint(hardwareHash func() map[string]string) (string, error) {
	fp, err := v.fingerprint()
	if err == nil {
		return fp, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	fp, err = newUUID()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(fingerprintRecord{
		Fingerprint:         fp,
		HardwareHash:        hardwareHash(),
		SimilarityThreshold: defaultSimilarityThreshold,
	})
	if err != nil {
		return "", err
	}
	if err := v.store(vaultKeyPrint, b); err != nil {
		return "", err
	}
	return fp, nil
}

// newUUID returns a random (version 4) UUID, lower case with hyphens.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make fingerprint: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// systemHardwareHash collects what the SSM agent compares on Linux, the same
// way it does; anything that cannot be read is left empty.
func systemHardwareHash() map[string]string {
	h := map[string]string{
		"machine-id":     machineID(),
		"processor-hash": commandHash("/usr/sbin/dmidecode", "-t", "processor"),
		"memory-hash":    commandHash("/usr/sbin/dmidecode", "-t", "memory"),
		"bios-hash":      commandHash("/usr/sbin/dmidecode", "-t", "bios"),
		"system-hash":    commandHash("/usr/sbin/dmidecode", "-t", "system"),
		"ipaddress-info": primaryIPv4(),
		"macaddr-info":   firstMAC(),
		"disk-info":      commandHash("ls", "-l", "/dev/disk/by-uuid"),
	}
	h["hostname-info"], _ = os.Hostname()
	return h
}

func machineID() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
	}
	return ""
}

func commandHash(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	sum := md5.Sum(out)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func primaryIPv4() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

func firstMAC() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, i := range ifaces {
		if s := i.HardwareAddr.String(); s != "" {
			return s
		}
	}
	return ""
}
