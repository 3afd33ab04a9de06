// Command gendata writes the quickstart's domain dataset, data/tickets.jsonl:
// customer-support tickets and knowledge-base snippets for "Kestrel", a
// fictional GPU cluster service with its own CLI (kes), pools, job ids and
// error codes. The output is a pure function of -seed and -n.
//
//	go run ./examples/quickstart/tools/gendata -out examples/quickstart/data/tickets.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/llmops/llmops/examples/quickstart/tinylm"
)

var (
	customers = []string{"Maya", "Tomasz", "Priya", "Jonas", "Aiko", "Diego", "Fatima", "Lena", "Omar", "Ruth",
		"Sven", "Chen", "Ines", "Kofi", "Nadia", "Pavel", "Yuki", "Zara", "Marco", "Hana"}
	agents   = []string{"Alex", "Sam", "Robin", "Jules", "Kai", "Noor"}
	pools    = []string{"h100-eu-2", "h100-us-1", "a100-us-3", "l40s-ap-1", "a100-eu-1", "h200-us-2"}
	gpus     = []string{"H100", "A100", "L40S", "H200"}
	projects = []string{"vision-12", "llm-ft-07", "speech-3", "recsys-prod", "nlp-lab", "genomics-2", "robotics-9", "search-rank"}
	regions  = []string{"eu-2", "us-1", "us-3", "ap-1", "eu-1"}
	images   = []string{"kestrel/pytorch:2.4-cuda12.4", "kestrel/jax:0.4-cuda12.2", "ghcr.io/acme/trainer:v17", "kestrel/base:cuda12.4"}
	counts   = []string{"8", "16", "32", "64", "128"}
	priority = []string{"low", "normal", "high", "urgent"}
	openers  = []string{"Hi team, ", "Hello Kestrel support, ", "Hey, ", "", "Good morning, ", "Hi there, "}
	closers  = []string{" Thanks!", " Any ideas?", " This is blocking our release.", "", " Please advise.", " Thanks in advance."}
	signoffs = []string{" Let us know if it happens again.", " Happy training!", " Reply here if you need anything else.", "", " The incident is closed on our side."}
)

type topic struct {
	subject   string
	questions []string
	answers   []string
}

var topics = []topic{
	{"GPU quota exceeded", []string{
		"Job {job} on pool {pool} fails with KST-401 quota exceeded. We have {n}/{n} {gpu} GPUs in use in project {proj}. Can you raise the quota to {n2}?",
		"`kes job submit --gpus {n2} --pool {pool}` returns KST-401. Our quota page says {n} GPUs. How do we get more?",
	}, []string{
		"project {proj} hit its {n} GPU quota on {pool}. I raised it to {n2}; run `kes quota show --project {proj}` to confirm, then resubmit {job}.",
		"KST-401 means the project quota is used up. File `kes quota request --gpus {n2} --pool {pool}`; requests up to {n2} GPUs are approved within 2 hours.",
	}},
	{"job stuck in PENDING", []string{
		"Job {job} has been PENDING on {pool} since {time} UTC. `kes job describe {job}` shows reason: Unschedulable. Is the pool full?",
		"My job {job} never leaves the PENDING state. It asks for {n} {gpu} GPUs on {pool}.",
	}, []string{
		"{pool} is at 100% allocation right now. {job} is number {k} in the queue; expect it to start within {h} hours, or resubmit to {pool2} which has free {gpu} nodes.",
		"{job} requests {n} GPUs on one node, but {gpu} nodes on {pool} have 8 GPUs. Split it with `kes job submit --nodes {k} --gpus-per-node 8`.",
	}},
	{"spot job preempted", []string{
		"Our spot job {job} on {pool} was preempted {k} times last night and lost all progress. Is spot capacity low in {region}?",
		"Why does {job} keep getting PREEMPTED? It runs on spot {gpu} nodes in {pool}.",
	}, []string{
		"spot capacity in {region} was reclaimed at {time} UTC for reserved customers. Add `--checkpoint-every 15m` and `--retry {k}` so {job} resumes from its last checkpoint.",
		"spot nodes can be reclaimed with 30 seconds notice. For long runs use `--priority reserved` or save checkpoints to /kestrel/ckpt every 15 minutes.",
	}},
	{"NCCL timeout", []string{
		"Multi-node job {job} ({k} nodes, {n} {gpu}) dies with KST-507 NCCL timeout after {h} hours. Single node runs fine.",
		"We see `NCCL WARN Net : Connection closed` and then KST-507 on {pool}. Is InfiniBand down?",
	}, []string{
		"one InfiniBand switch on {pool} flapped at {time} UTC and is now replaced. Resubmit {job}; set NCCL_IB_TIMEOUT=22 to ride out short link drops.",
		"KST-507 is raised when NCCL waits more than 30 minutes. Run `kes node check --ib {pool}`; if a node fails, exclude it with `--avoid-node` and resubmit.",
	}},
	{"CUDA out of memory", []string{
		"{job} crashes with `CUDA out of memory` on {gpu} after the first eval step. Batch size is {n}.",
		"Training fits on A100 80GB at home but OOMs on {pool}. Same image {image}.",
	}, []string{
		"the {gpu} nodes on {pool} expose 80 GB but the eval step keeps both models in memory. Lower the eval batch to {k} or enable `--gradient-checkpointing`.",
		"{pool} runs MIG slices by default. Submit with `--gpu-slice full` to get the whole {gpu} card, then {job} should fit.",
	}},
	{"image pull failed", []string{
		"{job} fails at start with KST-412 image pull failed for {image}. It worked yesterday.",
		"Pods for {job} stay in ContainerCreating and then KST-412. Registry credentials are set in project {proj}.",
	}, []string{
		"the registry token for project {proj} expired at {time} UTC. Run `kes registry login --project {proj}` and resubmit {job}.",
		"KST-412 means the node could not fetch {image}. Images larger than 40 GB time out; push a slimmer image or use `kes image cache {image}`.",
	}},
	{"billing and credits", []string{
		"Our invoice for project {proj} shows {n2} GPU hours on {pool} but our dashboards say {n}. Can you check?",
		"Do unused reserved {gpu} hours roll over to next month? We bought {n2} hours.",
	}, []string{
		"the invoice counts idle notebooks too: {k} notebooks in {proj} kept {gpu} GPUs allocated. Enable `idle_shutdown = 30m` to stop that; I applied a credit for the difference.",
		"reserved hours expire at the end of each billing month and do not roll over. You can move unused hours to another project with `kes billing transfer`.",
	}},
	{"SSO login", []string{
		"`kes login --sso` opens the browser and then fails with KST-403 forbidden. I am in the {proj} group.",
		"New team member {name2} cannot log in to the Kestrel console. SSO says access denied.",
	}, []string{
		"your identity provider sends the group as {proj}-admins but Kestrel expects {proj}. Ask your admin to map it, then run `kes login --sso` again.",
		"{name2} was added after the nightly SSO sync. I ran a manual sync; they can log in now and should run `kes config set project {proj}`.",
	}},
	{"slow storage", []string{
		"Reading the dataset from volume vol-{vol} is slow: 40 MB/s on {pool}. GPUs sit at {pct}% utilisation.",
		"Attaching vol-{vol} to {job} hangs with KST-422 volume busy.",
	}, []string{
		"vol-{vol} is a standard volume. Copy the data to /kestrel/scratch (local NVMe, 6 GB/s) at job start, or upgrade the volume to the turbo tier.",
		"vol-{vol} was still attached to a finished job. I detached it; `kes volume attach vol-{vol} --job {job}` works again.",
	}},
	{"driver and CUDA versions", []string{
		"Which CUDA version do {gpu} nodes on {pool} run? Our image {image} needs CUDA 12.4.",
		"{job} logs `driver version is insufficient for CUDA runtime version`. Image is {image}.",
	}, []string{
		"{pool} nodes run driver 550 with CUDA 12.4 support. Older pools still run 535; pin the pool with `--pool {pool}` to get the new driver.",
		"the node that ran {job} missed the driver upgrade. It is drained now; resubmit and the scheduler will pick an upgraded {gpu} node.",
	}},
	{"restore from checkpoint", []string{
		"How do I restart {job} from its last checkpoint after it failed at step {n2}?",
		"`kes job resume {job}` says no checkpoint found, but files exist in /kestrel/ckpt.",
	}, []string{
		"run `kes job resume {job} --from latest`. Kestrel mounts /kestrel/ckpt/{job} at the same path, so your script resumes at step {n2}.",
		"checkpoints must be written under /kestrel/ckpt/{job}; yours are under /kestrel/ckpt/tmp. Move them and run `kes job resume {job}`.",
	}},
	{"API key rotation", []string{
		"We leaked an API key for project {proj} in a public repo. How do we revoke it?",
		"Our CI gets KST-401 unauthorized since this morning when calling the Kestrel API.",
	}, []string{
		"I revoked the key at {time} UTC. Create a new one with `kes apikey create --project {proj} --expires 90d` and store it as a CI secret.",
		"API keys for {proj} expire after 90 days and yours expired today. Rotate it with `kes apikey rotate --project {proj}`.",
	}},
	{"low GPU utilisation", []string{
		"{gpu} utilisation on {job} is stuck at {pct}%. Are the nodes on {pool} throttled?",
		"`kes top {job}` shows GPUs mostly idle and CPU at 100%. What is wrong?",
	}, []string{
		"the GPUs are waiting on the data loader. Raise num_workers to {k} and request `--cpus {n}`; {gpu} nodes have 96 cores.",
		"the nodes are not throttled; {job} spends most of its time in CPU preprocessing. Pre-tokenise the dataset and read it from /kestrel/scratch.",
	}},
	{"reservations", []string{
		"Can we reserve {n2} {gpu} GPUs on {pool} for {k} weeks starting next Monday?",
		"What is the lead time for a {gpu} reservation in {region}?",
	}, []string{
		"I booked {n2} {gpu} GPUs on {pool} for {k} weeks. The reservation id is rsv-{vol}; submit with `--reservation rsv-{vol}`.",
		"reservations in {region} need 5 working days. Up to {n2} GPUs can be booked in the console under Capacity > Reservations.",
	}},
	{"missing job logs", []string{
		"`kes job logs {job} --follow` prints nothing although the job is RUNNING on {pool}.",
		"Logs for {job} stop at {time} UTC but the job kept running for {h} more hours.",
	}, []string{
		"{job} writes to a file instead of stdout. Kestrel only collects stdout and stderr; print to stdout or run `kes job exec {job} -- tail -f train.log`.",
		"the log collector on {pool} restarted at {time} UTC and dropped lines. Full logs are in the job archive: `kes job logs {job} --archive`.",
	}},
	{"idle notebooks", []string{
		"My notebook on {pool} was shut down while I was at lunch and I lost my variables.",
		"How do I stop notebooks in {proj} from burning {gpu} hours over the weekend?",
	}, []string{
		"notebooks in {proj} stop after 30 minutes without kernel activity. Raise it with `kes notebook set --idle-shutdown 2h`, and save state to /kestrel/home.",
		"set `idle_shutdown = 30m` in the project settings and add a budget alert with `kes budget create --project {proj} --monthly {n2}`.",
	}},
	{"budget alerts", []string{
		"We got a budget alert for {proj} at {pct}% of the monthly limit on day {k}. Which jobs spent it?",
		"Can Kestrel stop jobs automatically when project {proj} reaches its budget?",
	}, []string{
		"`kes billing usage --project {proj} --by job` lists spend per job; {job} on {pool} used most of it.",
		"yes: `kes budget create --project {proj} --monthly {n2} --action stop-jobs` stops running jobs at 100% and blocks new ones.",
	}},
	{"data retention", []string{
		"We are closing project {proj}. When are volumes and checkpoints deleted?",
		"Please delete all data of project {proj} for our GDPR request.",
	}, []string{
		"volumes of a closed project are kept for 30 days and then wiped. Run `kes project export {proj}` before closing if you need a copy.",
		"I scheduled the deletion of all volumes, images and checkpoints of {proj}; you will get a deletion certificate within {k} days.",
	}},
}

var kb = []string{
	"KB: To raise a quota, run `kes quota request --gpus {n2} --pool {pool}`; requests up to {n2} GPUs are approved within 2 hours.",
	"KB: KST-{code} means {codemsg}. Check `kes job describe {job}` for the reason and resubmit with `kes job submit --pool {pool2}`.",
	"KB: {gpu} nodes on {pool} have 8 GPUs, 96 CPU cores and 6 TB of local NVMe under /kestrel/scratch.",
	"KB: Save checkpoints under /kestrel/ckpt/$KESTREL_JOB_ID so that `kes job resume` can find them after a preemption.",
	"KB: Spot {gpu} capacity in {region} is cheapest between 22:00 and 06:00 UTC; use `--retry {k}` with spot jobs.",
	"KB: `kes job submit --gpus {n} --pool {pool} --image {image}` starts a job; `kes job logs <id> --follow` streams its output.",
}

var codes = map[string]string{
	"401": "the project GPU quota is used up", "403": "your account is not in the project group",
	"409": "the pool is draining for maintenance", "412": "the container image could not be pulled",
	"422": "the volume is still attached elsewhere", "507": "NCCL collectives timed out between nodes",
}

func main() {
	out := flag.String("out", "examples/quickstart/data/tickets.jsonl", "output file")
	n := flag.Int("n", 300, "number of records")
	seed := flag.Uint64("seed", 20240601, "random seed")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(f)
	r := tinylm.NewRNG(*seed)
	for i := 0; i < *n; i++ {
		b, _ := json.Marshal(map[string]string{"text": record(r)})
		w.Write(append(b, '\n'))
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func pick(r *tinylm.RNG, xs []string) string { return xs[r.Intn(len(xs))] }

func record(r *tinylm.RNG) string {
	if r.Intn(8) == 0 {
		return fill(r, pick(r, kb))
	}
	t := topics[r.Intn(len(topics))]
	vars := slots(r)
	q := pick(r, openers) + pick(r, t.questions) + pick(r, closers)
	a := "Hi {name}, " + pick(r, t.answers) + pick(r, signoffs)
	ticket := fmt.Sprintf("Ticket #%d [%s] %s. ", 40000+r.Intn(9000), pick(r, priority), t.subject)
	return expand(ticket+"{name}: "+q+" | Kestrel Support ({agent}): "+a, vars)
}

func fill(r *tinylm.RNG, tmpl string) string { return expand(tmpl, slots(r)) }

func slots(r *tinylm.RNG) map[string]string {
	n := r.Intn(len(counts) - 1)
	code := []string{"401", "403", "409", "412", "422", "507"}[r.Intn(6)]
	pi := r.Intn(len(pools))
	pool, pool2 := pools[pi], pools[(pi+1+r.Intn(len(pools)-1))%len(pools)]
	return map[string]string{
		"name": pick(r, customers), "name2": pick(r, customers), "agent": pick(r, agents),
		"pool": pool, "pool2": pool2, "gpu": pick(r, gpus), "proj": pick(r, projects),
		"region": pick(r, regions), "image": pick(r, images),
		"n": counts[n], "n2": counts[n+1], "k": fmt.Sprint(2 + r.Intn(5)), "h": fmt.Sprint(1 + r.Intn(9)),
		"job":  fmt.Sprintf("kj-%d", 1000+r.Intn(9000)),
		"time": fmt.Sprintf("%02d:%02d", r.Intn(24), r.Intn(12)*5),
		"pct":  fmt.Sprint(5 + r.Intn(40)), "vol": fmt.Sprintf("%04x", r.Intn(1<<16)),
		"code": code, "codemsg": codes[code],
	}
}

func expand(tmpl string, vars map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		key := tmpl[i+1 : i+j]
		b.WriteString(tmpl[:i])
		if v, ok := vars[key]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(tmpl[i : i+j+1])
		}
		tmpl = tmpl[i+j+1:]
	}
}
