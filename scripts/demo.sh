#!/usr/bin/env bash
# make demo: the whole job on one machine. Starts containerd if none runs,
# starts ecs-local, creates a cluster and an SSM activation, registers this
# host with `ecsd register`, runs `ecsd`, runs testdata/taskdefs/demo.json
# (a web server with a port mapping and a health check, and a sidecar that
# waits for it to be healthy), shows each state with timings, fetches the
# page through the mapped port, stops the task and tidies up.
#
#   scripts/demo.sh [--keep]    --keep leaves ecs-local and ecsd running
set -euo pipefail
cd "$(dirname "$0")/.."

KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
DEMO=${DEMO_DIR:-/tmp/ecsd-demo}
PORT=${DEMO_PORT:-18080}
EP="http://127.0.0.1:$PORT"
REGION=us-east-1
CLUSTER=demo
SOCK=/run/containerd/containerd.sock

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
t0=$(date +%s.%N)
elapsed() { python3 -c "import sys; print('%6.2fs' % (float(sys.argv[1]) - float(sys.argv[2])))" "$(date +%s.%N)" "$t0"; }

pids=()
started_containerd=0
tidy() {
	if [ "$KEEP" = 1 ]; then return; fi
	say "tidying up"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	# ecsd leaves tasks running when it stops; the demo's task is stopped
	# already. Remove its containers and the demo image.
	if [ -S "$SOCK" ]; then
		for c in $(ctr -a "$SOCK" -n ecsd containers ls -q 2>/dev/null); do
			ctr -a "$SOCK" -n ecsd tasks kill -s KILL "$c" 2>/dev/null || true
			ctr -a "$SOCK" -n ecsd tasks rm -f "$c" 2>/dev/null || true
			ctr -a "$SOCK" -n ecsd containers rm "$c" 2>/dev/null || true
		done
		ctr -a "$SOCK" -n ecsd images rm $(ctr -a "$SOCK" -n ecsd images ls -q 2>/dev/null) >/dev/null 2>&1 || true
	fi
	if [ "$started_containerd" = 1 ]; then
		kill "$CONTAINERD_PID" 2>/dev/null || true
		wait "$CONTAINERD_PID" 2>/dev/null || true
	fi
	ip link del ecsd0 2>/dev/null || true
	rm -rf "$DEMO"
}
trap tidy EXIT

rm -rf "$DEMO"
mkdir -p "$DEMO"

if ! command -v aws >/dev/null; then
	say "installing the AWS CLI (Debian's awscli)"
	apt-get install -y -qq awscli >/dev/null
fi

if ! ctr -a "$SOCK" version >/dev/null 2>&1; then
	say "no containerd answers on $SOCK: starting one"
	containerd >"$DEMO/containerd.log" 2>&1 &
	CONTAINERD_PID=$!
	started_containerd=1
	for _ in $(seq 50); do ctr -a "$SOCK" version >/dev/null 2>&1 && break; sleep 0.2; done
fi

say "building the demo images (busybox) and importing them into containerd (namespace ecsd)"
archive=$(go run ./internal/demo/mkimage "$DEMO/images")
ctr -a "$SOCK" -n ecsd images import "$archive" >/dev/null
ctr -a "$SOCK" -n ecsd images ls -q

say "starting ecs-local on $EP"
bin/ecs-local --listen "127.0.0.1:$PORT" --data-dir "$DEMO/ecs-local" >"$DEMO/ecs-local.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -f "$DEMO/ecs-local/credentials" ] && curl -s -o /dev/null "$EP" && break; sleep 0.2; done
export AWS_SHARED_CREDENTIALS_FILE="$DEMO/ecs-local/credentials" AWS_CONFIG_FILE="$DEMO/ecs-local/config"
AWS=(aws --endpoint-url "$EP" --region "$REGION")

say "creating cluster '$CLUSTER' and an SSM activation"
"${AWS[@]}" ecs create-cluster --cluster-name "$CLUSTER" --query 'cluster.clusterArn' --output text
read -r ACT_ID ACT_CODE < <("${AWS[@]}" ssm create-activation --iam-role ecsAnywhereRole --registration-limit 1 \
	--query '[ActivationId, ActivationCode]' --output text)
echo "activation $ACT_ID"

say "ecsd register (hybrid activation → managed instance)"
bin/ecsd register --region "$REGION" --activation-id "$ACT_ID" --activation-code "$ACT_CODE" \
	--endpoint "$EP" --state-root "$DEMO/ssm" --cluster "$CLUSTER"

say "starting ecsd"
env ECS_CLUSTER="$CLUSTER" AWS_DEFAULT_REGION="$REGION" ECS_BACKEND_HOST="$EP" \
	ECSD_SSM_ENDPOINT="$EP" ECSD_SSM_STATE_ROOT="$DEMO/ssm" ECS_DATADIR="$DEMO/data" \
	ECS_IMAGE_PULL_BEHAVIOR=prefer-cached ECSD_CONTAINERD_ADDRESS="$SOCK" \
	bin/ecsd run >"$DEMO/ecsd.out" 2>"$DEMO/ecsd.log" &
pids+=($!)
for _ in $(seq 100); do grep -q 'registered as' "$DEMO/ecsd.out" 2>/dev/null && break; sleep 0.2; done
cat "$DEMO/ecsd.out"
"${AWS[@]}" ecs list-container-instances --cluster "$CLUSTER" --output text

say "registering testdata/taskdefs/demo.json and running it"
"${AWS[@]}" ecs register-task-definition --cli-input-json "file://testdata/taskdefs/demo.json" \
	--query 'taskDefinition.taskDefinitionArn' --output text
t0=$(date +%s.%N)
TASK=$("${AWS[@]}" ecs run-task --cluster "$CLUSTER" --task-definition ecsd-demo --query 'tasks[0].taskArn' --output text)
echo "task $TASK"

# watch prints every change of the task's and its containers' states.
watch() {
	local want=$1 last=""
	for _ in $(seq 600); do
		state=$("${AWS[@]}" ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" --output text \
			--query 'tasks[0].[lastStatus, healthStatus, join(`, `, containers[].join(`:`, [name, lastStatus, to_string(healthStatus)]))]')
		if [ "$state" != "$last" ]; then
			printf '%s  %s\n' "$(elapsed)" "$state"
			last=$state
		fi
		case "$state" in "$want"*) return 0 ;; esac
		sleep 0.2
	done
	echo "task did not reach $want" >&2
	return 1
}
watch "RUNNING"

HOSTPORT=$("${AWS[@]}" ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" \
	--query 'tasks[0].containers[?name==`web`].networkBindings[0].hostPort' --output text)
say "fetching the page through the mapped port 127.0.0.1:$HOSTPORT"
curl -s "http://127.0.0.1:$HOSTPORT/"
sleep 2
say "the sidecar's output (ecsd logs)"
ECS_DATADIR="$DEMO/data" bin/ecsd logs "$TASK" sidecar | tail -n 3

say "waiting for the health check's verdict (ecsd reports health over TCS every 20 s)"
watch "RUNNING	HEALTHY"

say "stopping the task"
t0=$(date +%s.%N)
"${AWS[@]}" ecs stop-task --cluster "$CLUSTER" --task "$TASK" --reason "demo done" --query 'task.desiredStatus' --output text
watch "STOPPED"
"${AWS[@]}" ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" \
	--query 'tasks[0].containers[].[name, lastStatus, exitCode]' --output text

cat <<EOF

Try next (ecs-local is at $EP):
  export AWS_SHARED_CREDENTIALS_FILE=$DEMO/ecs-local/credentials AWS_CONFIG_FILE=$DEMO/ecs-local/config
  aws --endpoint-url $EP ecs list-clusters
  aws --endpoint-url $EP ecs describe-container-instances --cluster $CLUSTER --container-instances \$(aws --endpoint-url $EP ecs list-container-instances --cluster $CLUSTER --query 'containerInstanceArns[0]' --output text)
  aws --endpoint-url $EP ecs run-task --cluster $CLUSTER --task-definition ecsd-demo
  aws --endpoint-url $EP ecs list-tasks --cluster $CLUSTER
  aws --endpoint-url $EP ssm describe-instance-information
EOF
if [ "$KEEP" = 1 ]; then
	echo
	echo "--keep: ecs-local and ecsd keep running (logs in $DEMO); stop them with: kill ${pids[*]}"
fi
