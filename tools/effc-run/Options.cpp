#include "Options.h"

#include <algorithm>
#include <cstdlib>

namespace effc::run {

const char *kHelpText =
    "USAGE: effc-run OUT.effc [options]\n"
    "\n"
    "Runs an effc artifact.\n"
    "\n"
    "OPTIONS:\n"
    "  --backend=cuda|host     backend to run on (default cuda, or $EFFC_BACKEND); cuda needs an\n"
    "                          NVIDIA GPU and driver, host is the reference C++ backend\n"
    "  --device N              CUDA device ordinal (default 0, or $EFFC_CUDA_DEVICE)\n"
    "  --devices=N             run an artifact of effc --devices=N on N devices (host: N\n"
    "                          simulated in one process; cuda: N GPUs through NCCL, or N\n"
    "                          streams of --device when fewer GPUs or EFFC_COLLECTIVES=streams)\n"
    "  --cuda-graphs=BOOL      replay the kernels as one CUDA graph (default true, or\n"
    "                          $EFFC_CUDA_GRAPH)\n"
    "  --sync-each-kernel      synchronize after every kernel so that a fault names its kernel\n"
    "                          (no CUDA graph; or EFFC_CUDA_SYNC=1)\n"
    "  --kernel-cache-dir DIR  NVRTC kernel cache (default $EFFC_CACHE_DIR, else\n"
    "                          $XDG_CACHE_HOME/effc or ~/.cache/effc)\n"
    "  --kernel-cache=BOOL     use the kernel cache at all (default true, or $EFFC_CACHE)\n"
    "  --test-data DIR         read DIR/input_*.pb as the model inputs (manifest order), run,\n"
    "                          compare with DIR/output_*.pb; prints one line per output:\n"
    "                          output NAME: max_abs_err=E max_rel_err=R PASS|FAIL row_rel_err=W\n"
    "                          (row I of N) [top1=A/D] (max_rel_err = max|got-ref| / max|ref|;\n"
    "                          row_rel_err: the worst row, see --row-rtol; top1: see --min-top1);\n"
    "                          PASS needs all three checks; exit 1 on any FAIL\n"
    "  --then-test-data DIR    after --test-data, run DIR's inputs in the same session and\n"
    "                          compare (repeatable; prints 'then DIR:' before its lines): one\n"
    "                          session over several data sets, e.g. symbolic dims at other\n"
    "                          values through the same CUDA graph\n"
    "  --rtol F                max_rel_err <= F (default 1e-4)\n"
    "  --atol F                or max_abs_err <= F, for the output and for each row (default 0)\n"
    "  --row-rtol F            every row (last axis): max|got-ref| over the row <= F x the row's\n"
    "                          max|ref|, or x 1e-3 x the output's max|ref| where that is larger\n"
    "                          (near-zero rows) (default 4 x --rtol)\n"
    "  --min-top1 F            float outputs of rank >= 2 with last dim >= 2 (logits): the "
    "fraction\n"
    "                          of rows whose argmax is the reference's, among rows where that is\n"
    "                          decisive (see --top1-margin), must be >= F (default 1)\n"
    "  --top1-margin F         a row's reference argmax is decisive when its top-2 gap exceeds\n"
    "                          F x the row's max|ref| (floored as for --row-rtol); closer calls\n"
    "                          are near-ties, not counted (default --rtol)\n"
    "  --input NAME=FILE       input from a TensorProto .pb or a NumPy .npy file (repeatable;\n"
    "                          overrides --test-data for that input)\n"
    "  --random-inputs SEED    inputs given by nothing else get pseudo-random values: floats\n"
    "                          uniform in [-1, 1), integers in {-1, 0, 1}, bools\n"
    "  --dim NAME=N            with --random-inputs: the value of the model's symbolic dim\n"
    "                          NAME (compiled with effc --dim NAME=MIN..MAX; repeatable)\n"
    "  --save-test-data DIR    write this run's inputs and outputs to DIR/input_<i>.pb and\n"
    "                          DIR/output_<i>.pb (the layout --test-data reads; DIR is created)\n"
    "  --output-dir DIR        write every output to DIR/<name>.npy (DIR is created)\n"
    "  --generate N            generate N tokens per sequence with a causal LM compiled at one\n"
    "                          window (input_ids [batch, seq] -> logits; e.g. --dim batch=2\n"
    "                          --dim seq=32) from --input input_ids=FILE (every row a prompt) and\n"
    "                          print them, one line per sequence. Recompute mode: each step runs\n"
    "                          the whole window. A model with past_key_values.* inputs (compiled\n"
    "                          with e.g. --dim seq=1..32 --dim past=0..255 --dim total=1..288)\n"
    "                          runs in KV-cache mode: prefill, then one token per step, each\n"
    "                          step's present.* fed back as its past. With --test-data DIR:\n"
    "                          input_0 is the prompt, output_0 the reference tokens [batch, N],\n"
    "                          output_1 the logits of each step [batch, N, vocab]; prints\n"
    "                          tokens: K/T match and output logits: ... PASS|FAIL (--rtol etc.);\n"
    "                          exit 1 on any mismatch\n"
    "  --teacher-forcing       with --generate --test-data: feed the reference tokens back, so\n"
    "                          a near-tie (bf16) cannot derail the later steps; the logits line\n"
    "                          decides (its top-1 check covers the decisive tokens)\n"
    "  --temperature F         --generate: 0 greedy (default), > 0 sample from softmax(logits/F)\n"
    "  --top-k K               --generate sampling: keep the K most likely tokens (0: all)\n"
    "  --top-p F               --generate sampling: keep the most likely tokens whose mass\n"
    "                          reaches F (1: all)\n"
    "  --seed N                --generate sampling seed (default 0)\n"
    "  --stop ID[,ID...]       --generate: a sequence ends after one of these tokens\n"
    "  --prompt-lengths L[,L...]\n"
    "                          --generate --input: row b's prompt is its first L[b] tokens\n"
    "                          (prompts of different lengths in one batch; default: whole rows)\n"
    "  --stagger N             --generate through the serving engine (continuous batching):\n"
    "                          each row of the prompt is its own request, row i submitted at\n"
    "                          engine step i*N; requests run in the compiled batch's rows\n"
    "                          (slots) and wait in a queue when all are busy\n"
    "  --repeat R              --generate through the serving engine: each row submitted R\n"
    "                          times at once; with --test-data every copy must give the\n"
    "                          reference tokens (T counts all copies); prints shared pages: K\n"
    "  --draft FILE            --generate with speculative decoding: FILE is the draft model\n"
    "                          (same vocabulary), which proposes --speculate K tokens that the\n"
    "                          target checks in one pass over K+1 positions; greedy output is\n"
    "                          exactly the target's; prints acceptance: A (accepted/proposed)\n"
    "  --speculate K           draft tokens per step with --draft (K >= 1)\n"
    "  --kv-page-size N        serving a model with past (KV-cache mode): tokens per page of\n"
    "                          the paged KV cache (default 16)\n"
    "  --kv-pool-pages N       pages in the KV pool (default: every slot at its longest);\n"
    "                          fewer make the engine preempt (evict, recompute later)\n"
    "  --no-prefix-sharing     prompts with a common prefix do not share its pages\n"
    "  --max-seqs N            requests the serving engine runs at once (default: the\n"
    "                          compiled batch); in KV-cache mode more than the compiled\n"
    "                          batch run each step in several runs of at most that batch\n"
    "  --serve-bench FILE      replay the requests of FILE through the serving engine in real\n"
    "                          time, one per line: ARRIVAL_S PROMPT_LEN OUTPUT_LEN (seconds\n"
    "                          from the start; prompts are random ids from --seed; '#' starts a\n"
    "                          comment); prints throughput and time-to-first-token, inter-token\n"
    "                          and end-to-end latency percentiles\n"
    "  --bench N               warm up, time N runs, print median/min/p90 latency in ms.\n"
    "                          With --generate and --input: one warm-up generation, then N\n"
    "                          timed ones; prints the last one's tokens and a line\n"
    "                          'generate timing: ... ttft_ms=... step_ms_median=...\n"
    "                          step_ms_mean=... decode_tok_s=...' (time to the first token,\n"
    "                          then per decode step, each ending when its tokens are picked\n"
    "                          on the host, so the device has finished it)\n"
    "  --stats                 print arena bytes, intermediate bytes, their ratio, weight bytes\n"
    "                          and kernel count\n"
    "  -v, --verbose           print load/run timing, where the kernels came from (embedded\n"
    "                          cubin, cache, NVRTC) and a per-kernel timing table (with\n"
    "                          --generate N: of decode step N/2 of one more generation), then\n"
    "                          the same times summed by op\n"
    "  -h, --help              print this help\n";

StatusOr<Options> parseOptions(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], name = a, value;
    bool hasValue = false;
    size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      hasValue = true;
    }
    auto need = [&](std::string *out) -> Status {
      if (hasValue) {
        *out = value;
        return Status::OK();
      }
      if (i + 1 >= argc)
        return Status::error("option " + name + " needs a value");
      *out = argv[++i];
      return Status::OK();
    };
    auto number = [&](double *out) -> Status {
      std::string v;
      EFFC_RETURN_IF_ERROR(need(&v));
      char *end = nullptr;
      *out = std::strtod(v.c_str(), &end);
      if (v.empty() || *end)
        return Status::error("option " + name + ": not a number: '" + v + "'");
      return Status::OK();
    };
    if (name == "-h" || name == "--help") {
      o.help = true;
    } else if (name == "-v" || name == "--verbose") {
      o.verbose = true;
      o.session.verbosity = std::max(o.session.verbosity, 1);
    } else if (name == "--stats") {
      o.stats = true;
    } else if (name == "--backend") {
      EFFC_RETURN_IF_ERROR(need(&o.session.backend));
    } else if (name == "--device") {
      double d;
      EFFC_RETURN_IF_ERROR(number(&d));
      if (d < 0 || d > 1 << 20 || d != double(int(d)))
        return Status::error("option --device: expected a device ordinal (0, 1, ...)");
      o.session.device = int(d);
    } else if (name == "--devices") {
      double d;
      EFFC_RETURN_IF_ERROR(number(&d));
      if (d < 1 || d > 1024 || d != double(int(d)))
        return Status::error("option --devices: expected a device count (1, 2, ...)");
      o.session.devices = int(d);
    } else if (name == "--cuda-graphs" || name == "--kernel-cache") {
      std::string v = "true";
      if (hasValue)
        v = value;
      bool on = v == "true" || v == "1" || v == "on";
      if (!on && v != "false" && v != "0" && v != "off")
        return Status::error("option " + name + ": expected true or false, got '" + v + "'");
      (name == "--cuda-graphs" ? o.session.cudaGraphs : o.session.kernelCache) = on;
    } else if (name == "--sync-each-kernel") {
      o.session.syncAfterEachKernel = true;
    } else if (name == "--kernel-cache-dir") {
      EFFC_RETURN_IF_ERROR(need(&o.session.kernelCacheDir));
    } else if (name == "--test-data") {
      EFFC_RETURN_IF_ERROR(need(&o.testData));
    } else if (name == "--then-test-data") {
      EFFC_RETURN_IF_ERROR(need(&o.thenTestData.emplace_back()));
    } else if (name == "--output-dir") {
      EFFC_RETURN_IF_ERROR(need(&o.outputDir));
    } else if (name == "--rtol") {
      EFFC_RETURN_IF_ERROR(number(&o.tol.rtol));
    } else if (name == "--atol") {
      EFFC_RETURN_IF_ERROR(number(&o.tol.atol));
    } else if (name == "--row-rtol") {
      EFFC_RETURN_IF_ERROR(number(&o.tol.rowRtol));
      o.rowRtolGiven = true;
    } else if (name == "--min-top1") {
      EFFC_RETURN_IF_ERROR(number(&o.tol.minTop1));
      if (o.tol.minTop1 < 0 || o.tol.minTop1 > 1)
        return Status::error("option --min-top1: expected a fraction in [0, 1]");
    } else if (name == "--top1-margin") {
      EFFC_RETURN_IF_ERROR(number(&o.tol.top1Margin));
      o.top1MarginGiven = true;
    } else if (name == "--random-inputs") {
      double seed;
      EFFC_RETURN_IF_ERROR(number(&seed));
      if (seed < 0 || seed > 1e15 || seed != double(int64_t(seed)))
        return Status::error("option --random-inputs: expected a non-negative integer seed");
      o.randomSeed = int64_t(seed);
    } else if (name == "--dim") {
      std::string spec;
      EFFC_RETURN_IF_ERROR(need(&spec));
      size_t eq = spec.find('=');
      char *end = nullptr;
      long long v = eq == std::string::npos ? -1 : std::strtoll(spec.c_str() + eq + 1, &end, 10);
      if (eq == std::string::npos || eq == 0 || spec.size() == eq + 1 || *end || v < 0)
        return Status::error("option --dim: expected NAME=N (N >= 0), got '" + spec + "'");
      if (!o.dims.emplace(spec.substr(0, eq), int64_t(v)).second)
        return Status::error("option --dim: '" + spec.substr(0, eq) + "' given twice");
    } else if (name == "--save-test-data") {
      EFFC_RETURN_IF_ERROR(need(&o.saveTestData));
    } else if (name == "--bench") {
      double n;
      EFFC_RETURN_IF_ERROR(number(&n));
      if (n < 1 || n > 1e7 || n != double(int(n)))
        return Status::error("option --bench: expected a positive integer");
      o.bench = int(n);
    } else if (name == "--generate" || name == "--top-k" || name == "--seed") {
      double n;
      EFFC_RETURN_IF_ERROR(number(&n));
      if (n < (name == "--generate" ? 1 : 0) || n > 1e15 || n != double(int64_t(n)))
        return Status::error("option " + name + ": expected a " +
                             (name == "--generate" ? "positive" : "non-negative") + " integer");
      if (name == "--generate")
        o.generate = int64_t(n);
      else if (name == "--top-k")
        o.generation.topK = int64_t(n);
      else
        o.generation.seed = uint64_t(n);
    } else if (name == "--stagger" || name == "--repeat" || name == "--speculate") {
      double n;
      EFFC_RETURN_IF_ERROR(number(&n));
      if (n < (name == "--stagger" ? 0 : 1) || n > 1e9 || n != double(int64_t(n)))
        return Status::error("option " + name + ": expected a " +
                             (name == "--stagger" ? "non-negative" : "positive") + " integer");
      (name == "--stagger" ? o.stagger : name == "--repeat" ? o.repeat : o.speculate) = int64_t(n);
    } else if (name == "--kv-page-size" || name == "--kv-pool-pages") {
      double n;
      EFFC_RETURN_IF_ERROR(number(&n));
      bool page = name == "--kv-page-size";
      if (n < (page ? 1 : 0) || n > (page ? 65536 : 1e9) || n != double(int64_t(n)))
        return Status::error("option " + name + ": expected an integer in " +
                             (page ? "1..65536" : "0..1000000000"));
      (page ? o.kvPageSize : o.kvPoolPages) = int64_t(n);
      o.kvOptionsGiven = true;
    } else if (name == "--max-seqs") {
      double n;
      EFFC_RETURN_IF_ERROR(number(&n));
      if (n < 1 || n > 1e6 || n != double(int64_t(n)))
        return Status::error("option --max-seqs: expected an integer in 1..1000000");
      o.maxSequences = int64_t(n);
    } else if (name == "--no-prefix-sharing") {
      o.prefixSharing = false;
      o.kvOptionsGiven = true;
    } else if (name == "--draft") {
      EFFC_RETURN_IF_ERROR(need(&o.draft));
    } else if (name == "--serve-bench") {
      EFFC_RETURN_IF_ERROR(need(&o.serveBench));
    } else if (name == "--teacher-forcing") {
      o.teacherForcing = true;
    } else if (name == "--temperature") {
      EFFC_RETURN_IF_ERROR(number(&o.generation.temperature));
    } else if (name == "--top-p") {
      EFFC_RETURN_IF_ERROR(number(&o.generation.topP));
    } else if (name == "--stop" || name == "--prompt-lengths") {
      const bool stop = name == "--stop";
      std::string v;
      EFFC_RETURN_IF_ERROR(need(&v));
      for (size_t at = 0; at <= v.size();) {
        size_t comma = std::min(v.find(',', at), v.size());
        std::string id = v.substr(at, comma - at);
        char *end = nullptr;
        long long x = std::strtoll(id.c_str(), &end, 10);
        if (id.empty() || *end || x < (stop ? 0 : 1))
          return Status::error("option " + name + ": expected " +
                               (stop ? "token ids ID[,ID...]" : "lengths L[,L...] >= 1") +
                               ", got '" + v + "'");
        (stop ? o.generation.stopTokenIds : o.promptLengths).push_back(x);
        at = comma + 1;
      }
    } else if (name == "--input") {
      std::string v;
      EFFC_RETURN_IF_ERROR(need(&v));
      size_t e = v.find('=');
      if (e == std::string::npos || e == 0 || e + 1 == v.size())
        return Status::error("option --input: expected NAME=FILE, got '" + v + "'");
      o.inputs.push_back({v.substr(0, e), v.substr(e + 1)});
    } else if (!a.empty() && a[0] == '-') {
      return Status::error("unknown option '" + a + "' (see --help)");
    } else if (o.artifact.empty()) {
      o.artifact = a;
    } else {
      return Status::error("more than one artifact given: '" + o.artifact + "' and '" + a + "'");
    }
  }
  if (!o.rowRtolGiven)
    o.tol.rowRtol = kRowRtolPerRtol * o.tol.rtol;
  if (!o.top1MarginGiven)
    o.tol.top1Margin = o.tol.rtol; // a gap the allowed error could close is a near-tie
  if (!o.thenTestData.empty() && (o.testData.empty() || o.generate > 0 || !o.inputs.empty()))
    return Status::error("option --then-test-data needs --test-data DIR (and no --generate or "
                         "--input)");
  if (o.teacherForcing && (o.generate == 0 || o.testData.empty()))
    return Status::error("option --teacher-forcing needs --generate N and --test-data DIR");
  if (!o.promptLengths.empty() && (o.generate == 0 || !o.testData.empty() || o.usesEngine()))
    return Status::error("option --prompt-lengths needs --generate N with --input input_ids=FILE "
                         "(no --test-data or serving options)");
  o.generation.maxNewTokens = o.generate;
  if (o.generate > 0 && (!o.outputDir.empty() || !o.saveTestData.empty() || o.randomSeed >= 0))
    return Status::error("option --generate does not combine with --output-dir, "
                         "--save-test-data or --random-inputs");
  if (o.generate > 0 && o.bench > 0 && (!o.testData.empty() || o.usesEngine()))
    return Status::error("option --generate N --bench R times generations from --input "
                         "input_ids=FILE: no --test-data, --stagger, --repeat, --draft");
  if (o.draft.empty() != (o.speculate == 0))
    return Status::error("options --draft FILE and --speculate K go together");
  if (o.kvOptionsGiven && !o.usesEngine())
    return Status::error("options --kv-page-size, --kv-pool-pages and --no-prefix-sharing "
                         "configure the serving engine: use them with --stagger, --repeat, "
                         "--draft or --serve-bench");
  if (o.maxSequences > 0 && !o.usesEngine())
    return Status::error("option --max-seqs configures the serving engine: use it with "
                         "--stagger, --repeat, --draft or --serve-bench");
  if (o.usesEngine()) {
    if (o.serveBench.empty() && o.generate == 0)
      return Status::error("options --stagger, --repeat and --draft need --generate N");
    if (!o.serveBench.empty() && (o.generate > 0 || o.stagger >= 0 || o.repeat > 0))
      return Status::error("option --serve-bench takes the requests from its file: no "
                           "--generate, --stagger or --repeat");
    if (o.teacherForcing)
      return Status::error("option --teacher-forcing works with plain --generate only");
    if (o.bench > 0 || !o.outputDir.empty() || !o.saveTestData.empty() || o.randomSeed >= 0)
      return Status::error("the serving options do not combine with --bench, --output-dir, "
                           "--save-test-data or --random-inputs");
  }
  if (!o.help && o.artifact.empty())
    return Status::error("no artifact given (usage: effc-run OUT.effc [options]; see --help)");
  return o;
}

} // namespace effc::run
