package ssm

import "strings"

// Endpoint is the SSM endpoint of region, https://ssm.<region>.<domain>/,
// with the domain chosen by the region's partition as the SSM agent does.
func Endpoint(region string) string {
	return "https://ssm." + region + "." + domain(region) + "/"
}

func domain(region string) string {
	for _, p := range []struct{ prefix, domain string }{
		{"cn-", "amazonaws.com.cn"},
		{"us-isob-", "sc2s.sgov.gov"},
		{"us-isof-", "csp.hci.ic.gov"},
		{"us-iso-", "c2s.ic.gov"},
		{"eu-isoe-", "cloud.adc-e.uk"},
		{"eusc-de-", "amazonaws.eu"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.domain
		}
	}
	return "amazonaws.com"
}
