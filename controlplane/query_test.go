package controlplane

import "testing"

func TestQuery(t *testing.T) {
	v := &instanceView{
		attrs: map[string]string{
			"ecs.os-type": "linux", "ecs.instance-type": "t2.micro", "stack": "prod", "ecs.capability.external": "", "slots": "4",
		},
		ec2InstanceID:  "mi-0123",
		agentVersion:   "1.2.0",
		agentConnected: true,
		runningTasks:   3,
		groups:         map[string]bool{"service:web": true},
	}
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{"attribute:stack == prod", true},
		{"attribute:stack == dev", false},
		{"attribute:stack != dev", true},
		{"attribute:missing != dev", true},
		{"attribute:ecs.instance-type == t2.*", true},
		{"attribute:ecs.instance-type == m5.*", false},
		{"attribute:stack in [dev, prod]", true},
		{"attribute:stack in (dev, test)", false},
		{"attribute:stack not in [dev, test]", true},
		{"attribute:ecs.capability.external exists", true},
		{"attribute:gpu exists", false},
		{"attribute:gpu !exists", true},
		{"attribute:stack == 'prod'", true},
		{`attribute:stack == "prod" and attribute:ecs.os-type == linux`, true},
		{"attribute:stack == dev or attribute:ecs.os-type == linux", true},
		{"attribute:stack == dev or attribute:ecs.os-type == linux and attribute:gpu exists", false},
		{"(attribute:stack == dev or attribute:ecs.os-type == linux) and not attribute:gpu exists", true},
		{"attribute:slots >= 4", true},
		{"attribute:slots > 10", false},
		{"attribute:slots < 10", true},
		{"attribute:ecs.instance-type =~ micro", true},
		{"ec2InstanceId == mi-0123", true},
		{"agentConnected == true", true},
		{"agentVersion >= 1.1.0", true},
		{"runningTasksCount <= 2", false},
		{"task:group == service:web", true},
		{"task:group == service:db", false},
		{"attribute:stack == prod && attribute:slots == 4", true},
	} {
		q, err := parseQuery(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := q.match(v); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
		}
	}
	for _, bad := range []string{"", "attribute:stack", "attribute:stack ==", "stack == prod", "attribute:stack in prod",
		"attribute:stack in [a,", "(attribute:stack == a", "attribute:stack == a and", "attribute:stack ~~ a", "attribute:stack == 'a"} {
		if _, err := parseQuery(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
