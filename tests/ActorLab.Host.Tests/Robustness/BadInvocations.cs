namespace ActorLab.Host.Tests.Robustness;

/// <summary>
/// The bad-input suite: invocations of every `actorlab` command that a hostile or careless user types, each with the
/// culprit its one error line must name. Every case changes one thing in an otherwise valid invocation (so the error
/// is about that thing), and outputs point at {fresh:...} paths that must still not exist afterwards.
/// </summary>
public static class BadInvocations
{
    /// <summary><paramref name="baseArgs"/> with each (flag, value) replacing that flag's value, appended when absent, removed when null.</summary>
    static string[] With(string[] baseArgs, params (string Flag, string? Value)[] changes)
    {
        var args = baseArgs.ToList();
        foreach (var (flag, value) in changes)
        {
            int i = args.IndexOf(flag);
            if (i >= 0 && value == null) args.RemoveRange(i, i + 1 < args.Count && !args[i + 1].StartsWith("--") ? 2 : 1);
            else if (i >= 0) args[i + 1] = value!;
            else if (value != null) { args.Add(flag); if (value.Length > 0 || !flag.StartsWith("--")) args.Add(value); }
        }
        return args.ToArray();
    }

    static readonly string[] Generate = ["profiles", "generate", "--n", "20", "--relations", "2", "--out", "{fresh:gen.parquet}"];
    static readonly string[] Export = ["profiles", "export", "{p}", "--format", "jsonl", "--out", "{fresh:export.jsonl}"];
    static readonly string[] Tokenizer = ["tokenizer", "train", "--profiles", "{p}", "--out", "{fresh:tok}", "--vocab-size", "300"];
    static readonly string[] Sample = ["qa", "sample", "--profiles", "{p}", "--tokenizer", "{tok}", "--seq-len", "64", "--count", "1"];
    static readonly string[] Splits = ["qa", "splits", "--profiles", "{p}", "--out", "{fresh:splits.bin}"];
    static readonly string[] Train =
    [
        "train", "--profiles", "{p}", "--tokenizer", "{tok}", "--num-params", "400000", "--layers", "1", "--max-steps", "2",
        "--batch-size", "2", "--seq-len", "128", "--warmup-steps", "0", "--eval-questions", "5", "--threads", "1", "--out", "{fresh:train}",
    ];
    static readonly string[] Eval = ["eval", "--checkpoint", "{ck}", "--eval-questions", "5", "--threads", "1"];
    static readonly string[] HfExport = ["export", "--checkpoint", "{ck}", "--out", "{fresh:hf}"];
    static readonly string[] Entropy = ["entropy", "--profiles", "{p}"];
    static readonly string[] SolveN = ["solve-n", "--target-bits", "5000", "--relations", "2"];
    static readonly string[] Measure = ["measure", "--results", "{runs}", "--out", "{fresh:measure}"];
    static readonly string[] Probe = ["probe", "--checkpoint", "{ck}", "--samples", "40", "--layers", "0-1", "--max-iter", "5", "--threads", "1", "--out", "{fresh:probe}"];
    static readonly string[] Generalization = ["generalization", "{run}", "--tuples", "3", "--threads", "1", "--out", "{fresh:gen}"];
    static readonly string[] SweepRun = ["sweep", "run", "{sweep}", "--data-dir", "{fresh:data}", "--slots", "1"];
    static readonly string[] Node = ["node", "--data-dir", "{fresh:node-data}", "--port", "0", "--slots", "1"];

    static BadInvocation C(string command, string name, string[] args, string culprit) => new(command, name, args, culprit);

    public static IReadOnlyList<BadInvocation> All { get; } = Build().ToList();

    static IEnumerable<BadInvocation> Build()
    {
        // ---- profiles generate
        const string gen = "profiles generate";
        yield return C(gen, "--n 0", With(Generate, ("--n", "0")), "--n");
        yield return C(gen, "--n -5", With(Generate, ("--n", "-5")), "--n");
        yield return C(gen, "--n abc", With(Generate, ("--n", "abc")), "--n");
        yield return C(gen, "--n 2147483647 (memory)", With(Generate, ("--n", "2147483647")), "--n");
        yield return C(gen, "--n 1e9 (not an integer)", With(Generate, ("--n", "1e9")), "--n");
        yield return C(gen, "--relations 0", With(Generate, ("--relations", "0")), "--relations");
        yield return C(gen, "--relations 18", With(Generate, ("--relations", "18")), "--relations");
        yield return C(gen, "--out empty", With(Generate, ("--out", "")), "--out");
        yield return C(gen, "--out blank", With(Generate, ("--out", "  ")), "--out");
        yield return C(gen, "--out in a read-only folder", With(Generate, ("--out", "{ro}/p.parquet")), "{ro}") with { Requires = "ro" };
        yield return C(gen, "--out a device", With(Generate, ("--out", "{dev}")), "{dev}");
        yield return C(gen, "--out a pipe", With(Generate, ("--out", "{fifo}")), "{fifo}");
        yield return C(gen, "--out an existing folder", With(Generate, ("--out", "{empty}")), "{empty}");
        yield return C(gen, "--out in a missing folder", With(Generate, ("--out", "{fresh:no}/such/p.parquet")), "{fresh:no}/such");
        yield return C(gen, "--out under a file", With(Generate, ("--out", "{p}/p.parquet")), "{p}");
        yield return C(gen, "--lists-dir missing", With(Generate, ("--lists-dir", "{fresh:lists}")), "{fresh:lists}");
        yield return C(gen, "--lists-dir a file", With(Generate, ("--lists-dir", "{p}")), "{p}");
        yield return C(gen, "--lists-dir without lists", With(Generate, ("--lists-dir", "{empty}")), "{empty}");
        yield return C(gen, "unknown option", With(Generate, ("--frobnicate", "1")), "--frobnicate");
        yield return C(gen, "--seed 1.5", With(Generate, ("--seed", "1.5")), "--seed");

        // ---- profiles stats
        const string stats = "profiles stats";
        yield return C(stats, "missing file", ["profiles", "stats", "{fresh:none.parquet}"], "{fresh:none.parquet}");
        yield return C(stats, "empty file name", ["profiles", "stats", ""], "file");
        yield return C(stats, "a folder", ["profiles", "stats", "{empty}"], "{empty}");
        yield return C(stats, "a pipe (open would block)", ["profiles", "stats", "{fifo}"], "{fifo}") with { InChildProcess = true };
        yield return C(stats, "a device", ["profiles", "stats", "{dev}"], "{dev}");
        yield return C(stats, "footer claiming 2 GiB", ["profiles", "stats", "{p_footer2g}"], "{p_footer2g}");
        yield return C(stats, "truncated parquet", ["profiles", "stats", "{p_truncated}"], "{p_truncated}");
        yield return C(stats, "random bytes framed as parquet", ["profiles", "stats", "{p_garbage}"], "{p_garbage}");
        yield return C(stats, "binary with terminal escapes", ["profiles", "stats", "{p_binary}", "--json"], "{p_binary}");
        yield return C(stats, "empty file", ["profiles", "stats", "{p_empty}"], "{p_empty}");
        yield return C(stats, "a CSV named .parquet", ["profiles", "stats", "{p_csv}"], "{p_csv}");
        yield return C(stats, "parquet of another schema", ["profiles", "stats", "{p_schema}"], "{p_schema}");
        yield return C(stats, "no file", ["profiles", "stats"], "Required argument missing");

        // ---- profiles export
        const string export = "profiles export";
        yield return C(export, "--format xml", With(Export, ("--format", "xml")), "xml");
        yield return C(export, "no --format", With(Export, ("--format", null)), "--format");
        yield return C(export, "--out empty", With(Export, ("--out", "")), "--out");
        yield return C(export, "--out read-only", With(Export, ("--out", "{ro}/x.jsonl")), "{ro}") with { Requires = "ro" };
        yield return C(export, "--out a device", With(Export, ("--out", "{dev}")), "{dev}");
        yield return C(export, "--out a pipe", With(Export, ("--out", "{fifo}")), "{fifo}");
        yield return C(export, "--out the input itself is fine, a folder is not", With(Export, ("--out", "{empty}")), "{empty}");
        yield return C(export, "input footer 2 GiB", ["profiles", "export", "{p_footer2g}", "--format", "csv", "--out", "{fresh:x.csv}"], "{p_footer2g}");
        yield return C(export, "input truncated", ["profiles", "export", "{p_truncated}", "--format", "csv", "--out", "{fresh:x.csv}"], "{p_truncated}");

        // ---- tokenizer train
        const string tok = "tokenizer train";
        yield return C(tok, "--vocab-size 0", With(Tokenizer, ("--vocab-size", "0")), "--vocab-size");
        yield return C(tok, "--vocab-size 100 (below the bytes)", With(Tokenizer, ("--vocab-size", "100")), "--vocab-size");
        yield return C(tok, "--vocab-size -1", With(Tokenizer, ("--vocab-size", "-1")), "--vocab-size");
        yield return C(tok, "--vocab-size 2147483647", With(Tokenizer, ("--vocab-size", "2147483647")), "--vocab-size");
        yield return C(tok, "--out empty", With(Tokenizer, ("--out", "")), "--out");
        yield return C(tok, "--out read-only", With(Tokenizer, ("--out", "{ro}/tok")), "{ro}") with { Requires = "ro" };
        yield return C(tok, "--out a file", With(Tokenizer, ("--out", "{p}")), "{p}");
        yield return C(tok, "--out a device", With(Tokenizer, ("--out", "{dev}")), "{dev}");
        yield return C(tok, "--profiles damaged", With(Tokenizer, ("--profiles", "{p_garbage}")), "{p_garbage}");
        yield return C(tok, "--profiles missing", With(Tokenizer, ("--profiles", "{fresh:none.parquet}")), "{fresh:none.parquet}");
        yield return C(tok, "no --out", With(Tokenizer, ("--out", null)), "--out");

        // ---- qa sample
        const string sample = "qa sample";
        yield return C(sample, "--orders 3", With(Sample, ("--orders", "3")), "--orders");
        yield return C(sample, "--orders 2,2", With(Sample, ("--orders", "2,2")), "--orders");
        yield return C(sample, "--orders ,", With(Sample, ("--orders", ",")), "--orders");
        yield return C(sample, "--hop-ratio 0", With(Sample, ("--hop-ratio", "0")), "hop");
        yield return C(sample, "--hop-ratio NaN", With(Sample, ("--hop-ratio", "NaN")), "hop");
        yield return C(sample, "--hop-ratio -1", With(Sample, ("--hop-ratio", "-1")), "hop");
        yield return C(sample, "--mode bogus", With(Sample, ("--mode", "bogus")), "--mode");
        yield return C(sample, "--count 0", With(Sample, ("--count", "0")), "--count");
        yield return C(sample, "--seq-len 0", With(Sample, ("--seq-len", "0")), "seq");
        yield return C(sample, "--seq-len 2147483647", With(Sample, ("--seq-len", "2147483647")), "seq");
        yield return C(sample, "--tokenizer missing", With(Sample, ("--tokenizer", "{fresh:tok}")), "{fresh:tok}");
        yield return C(sample, "--tokenizer a file", With(Sample, ("--tokenizer", "{p}")), "{p}");
        yield return C(sample, "--tokenizer with binary vocab.json", With(Sample, ("--tokenizer", "{tok_garbage}")), "{tok_garbage}");
        yield return C(sample, "--tokenizer without merges.txt", With(Sample, ("--tokenizer", "{tok_nomerges}")), "{tok_nomerges}");
        yield return C(sample, "--profiles footer 2 GiB", With(Sample, ("--profiles", "{p_footer2g}")), "{p_footer2g}");

        // ---- qa splits
        const string splits = "qa splits";
        yield return C(splits, "--out empty", With(Splits, ("--out", "")), "--out");
        yield return C(splits, "--out read-only", With(Splits, ("--out", "{ro}/s.bin")), "{ro}") with { Requires = "ro" };
        yield return C(splits, "--out a device", With(Splits, ("--out", "{dev}")), "{dev}");
        yield return C(splits, "--out a pipe", With(Splits, ("--out", "{fifo}")), "{fifo}");
        yield return C(splits, "--out a folder", With(Splits, ("--out", "{empty}")), "{empty}");
        yield return C(splits, "--profiles wrong schema", With(Splits, ("--profiles", "{p_schema}")), "{p_schema}");
        yield return C(splits, "--seed x", With(Splits, ("--seed", "x")), "--seed");

        // ---- train
        const string train = "train";
        yield return C(train, "--out empty", With(Train, ("--out", "")), "--out");
        yield return C(train, "--out read-only", With(Train, ("--out", "{ro}")), "{ro}") with { Requires = "ro" };
        yield return C(train, "--out a device", With(Train, ("--out", "{dev}")), "{dev}");
        yield return C(train, "--out a file", With(Train, ("--out", "{p}")), "{p}");
        yield return C(train, "--lr Infinity", With(Train, ("--lr", "Infinity")), "--lr");
        yield return C(train, "--lr 1e30", With(Train, ("--lr", "1e30")), "--lr");
        yield return C(train, "--lr 0", With(Train, ("--lr", "0")), "--lr");
        yield return C(train, "--lr -1", With(Train, ("--lr", "-1")), "--lr");
        yield return C(train, "--lr NaN", With(Train, ("--lr", "NaN")), "--lr");
        yield return C(train, "--beta1 0", With(Train, ("--beta1", "0")), "--beta1");
        yield return C(train, "--beta1 1", With(Train, ("--beta1", "1")), "--beta1");
        yield return C(train, "--beta2 1.5", With(Train, ("--beta2", "1.5")), "--beta2");
        yield return C(train, "--beta2 0", With(Train, ("--beta2", "0")), "--beta2");
        yield return C(train, "--beta2 1", With(Train, ("--beta2", "1")), "--beta2");
        yield return C(train, "--beta2 NaN", With(Train, ("--beta2", "NaN")), "--beta2");
        yield return C(train, "--wd -1", With(Train, ("--wd", "-1")), "--wd");
        yield return C(train, "--wd Infinity", With(Train, ("--wd", "Infinity")), "--wd");
        yield return C(train, "--batch-size 0", With(Train, ("--batch-size", "0")), "--batch-size");
        yield return C(train, "--batch-size 1000000000", With(Train, ("--batch-size", "1000000000")), "--batch-size");
        yield return C(train, "--batch-size 1e9", With(Train, ("--batch-size", "1e9")), "--batch-size");
        yield return C(train, "--batch-size 65536 --seq-len 65536 (memory)", With(Train, ("--batch-size", "65536"), ("--seq-len", "65536")), "--batch-size 65536");
        yield return C(train, "--num-params 1e12 (memory)", With(Train, ("--num-params", "1000000000000"), ("--layers", "4")), "needs about");
        yield return C(train, "--num-params 9e18", With(Train, ("--num-params", "9000000000000000000")), "--num-params");
        yield return C(train, "--seq-len 1", With(Train, ("--seq-len", "1")), "--seq-len");
        yield return C(train, "--seq-len 24 (no question fits)", With(Train, ("--seq-len", "24")), "seq-len 24");
        yield return C(train, "--seq-len 100000000", With(Train, ("--seq-len", "100000000")), "--seq-len");
        yield return C(train, "--max-steps 0", With(Train, ("--max-steps", "0")), "--max-steps");
        yield return C(train, "--max-steps -1", With(Train, ("--max-steps", "-1")), "--max-steps");
        yield return C(train, "--warmup-steps -1", With(Train, ("--warmup-steps", "-1")), "--warmup-steps");
        yield return C(train, "--checkpoint-steps unsorted", With(Train, ("--checkpoint-steps", "3,1")), "--checkpoint-steps");
        yield return C(train, "--checkpoint-steps negative", With(Train, ("--checkpoint-steps=-1", "")), "--checkpoint-steps");
        yield return C(train, "--checkpoint-steps 0", With(Train, ("--checkpoint-steps", "0")), "--checkpoint-steps");
        yield return C(train, "--checkpoint-steps repeated", With(Train, ("--checkpoint-steps", "2,2")), "--checkpoint-steps");
        yield return C(train, "--checkpoint-steps abc", With(Train, ("--checkpoint-steps", "abc")), "--checkpoint-steps");
        yield return C(train, "--checkpoint-steps log count 1e9", With(Train, ("--checkpoint-steps", "log:1:100:1000000000")), "--checkpoint-steps");
        yield return C(train, "--checkpoint-steps log backwards", With(Train, ("--checkpoint-steps", "log:100:1:5")), "--checkpoint-steps");
        yield return C(train, "--keep-last 0", With(Train, ("--keep-last", "0")), "--keep-last");
        yield return C(train, "--optimizer sgd", With(Train, ("--optimizer", "sgd")), "--optimizer");
        yield return C(train, "--layers 0", With(Train, ("--layers", "0")), "--layers");
        yield return C(train, "--layers 100000", With(Train, ("--layers", "100000")), "--layers");
        yield return C(train, "--num-params 0", With(Train, ("--num-params", "0")), "--num-params");
        yield return C(train, "--num-params below the smallest 4-layer model", With(Train, ("--num-params", "330000"), ("--layers", "4")), "--num-params 330000 is below the smallest model's budget with 4 layer(s), 332288");
        yield return C(train, "--hop-ratio 0", With(Train, ("--hop-ratio", "0")), "--hop-ratio");
        yield return C(train, "--hop-ratio Infinity", With(Train, ("--hop-ratio", "Infinity")), "--hop-ratio");
        yield return C(train, "--orders 2", With(Train, ("--orders", "2")), "--orders");
        yield return C(train, "--orders 1,3", With(Train, ("--orders", "1,3")), "--orders");
        yield return C(train, "--device tpu", With(Train, ("--device", "tpu")), "--device");
        yield return C(train, "--device cuda:0 without CUDA", With(Train, ("--device", "cuda:0")), "--device");
        yield return C(train, "--amp fp8", With(Train, ("--amp", "fp8")), "--amp");
        yield return C(train, "--amp bf16 on the CPU", With(Train, ("--amp", "bf16")), "--amp");
        yield return C(train, "--threads -1", With(Train, ("--threads", "-1")), "--threads");
        yield return C(train, "--threads 100000", With(Train, ("--threads", "100000")), "--threads");
        yield return C(train, "--eval-questions 0", With(Train, ("--eval-questions", "0")), "--eval-questions");
        yield return C(train, "--eval-questions 2000000000", With(Train, ("--eval-questions", "2000000000")), "--eval-questions");
        yield return C(train, "--profiles missing", With(Train, ("--profiles", "{fresh:none.parquet}")), "{fresh:none.parquet}");
        yield return C(train, "--profiles footer 2 GiB", With(Train, ("--profiles", "{p_footer2g}")), "{p_footer2g}");
        yield return C(train, "--tokenizer missing", With(Train, ("--tokenizer", "{fresh:tok}")), "{fresh:tok}");
        yield return C(train, "--tokenizer damaged", With(Train, ("--tokenizer", "{tok_garbage}")), "{tok_garbage}");
        yield return C(train, "the run exists, no --resume", With(Train, ("--out", "{runs}"), ("--checkpoint-steps", "2"), ("--max-steps", "2")), "--resume");
        yield return C(train, "no --max-steps", With(Train, ("--max-steps", null)), "--max-steps");

        // ---- eval
        const string eval = "eval";
        yield return C(eval, "--checkpoint missing", With(Eval, ("--checkpoint", "{fresh:ck}")), "{fresh:ck}");
        yield return C(eval, "--checkpoint a file", With(Eval, ("--checkpoint", "{p}")), "{p}");
        yield return C(eval, "--checkpoint empty", With(Eval, ("--checkpoint", "")), "--checkpoint");
        yield return C(eval, "bad RNG state (size)", With(Eval, ("--checkpoint", "{ck_badrng}")), "RNG state") with { InChildProcess = true };
        yield return C(eval, "bad RNG state (mt19937)", With(Eval, ("--checkpoint", "{ck_badrng2}")), "RNG state") with { InChildProcess = true };
        yield return C(eval, "model wider than its weights", With(Eval, ("--checkpoint", "{ck_width}")), "{ck_width}");
        yield return C(eval, "weight of the wrong shape", With(Eval, ("--checkpoint", "{ck_shape}")), "q_proj");
        yield return C(eval, "optimizer buffer of the wrong shape", With(Eval, ("--checkpoint", "{ck_zshape}")), "{ck_zshape}");
        yield return C(eval, "safetensors header claiming 4 TB", With(Eval, ("--checkpoint", "{ck_huge}")), "{ck_huge}");
        yield return C(eval, "binary trainer.json", With(Eval, ("--checkpoint", "{ck_metajunk}")), "{ck_metajunk}");
        yield return C(eval, "manifest names a file outside", With(Eval, ("--checkpoint", "{ck_traversal}")), "{ck_traversal}");
        yield return C(eval, "checksum mismatch", With(Eval, ("--checkpoint", "{ck_corrupt}")), "{ck_corrupt}");
        yield return C(eval, "no manifest", With(Eval, ("--checkpoint", "{ck_nomanifest}")), "{ck_nomanifest}");
        yield return C(eval, "--eval-questions 0", With(Eval, ("--eval-questions", "0")), "--eval-questions");
        yield return C(eval, "--device bogus", With(Eval, ("--device", "bogus")), "--device");
        yield return C(eval, "--profiles footer 2 GiB", With(Eval, ("--profiles", "{p_footer2g}")), "{p_footer2g}");
        yield return C(eval, "--tokenizer of another vocabulary", With(Eval, ("--tokenizer", "{tok350}")), "vocab");
        yield return C(eval, "run folder read-only", With(Eval, ("--checkpoint", "{ro_ck}")), "{ro_run_dir}") with { Requires = "ro" };

        // ---- export (HF)
        const string hf = "export";
        yield return C(hf, "--out empty", With(HfExport, ("--out", "")), "--out");
        yield return C(hf, "--out read-only", With(HfExport, ("--out", "{ro}/hf")), "{ro}") with { Requires = "ro" };
        yield return C(hf, "--out a device", With(HfExport, ("--out", "{dev}")), "{dev}");
        yield return C(hf, "--out a file", With(HfExport, ("--out", "{p}")), "{p}");
        yield return C(hf, "model wider than its weights", With(HfExport, ("--checkpoint", "{ck_width}")), "{ck_width}");
        yield return C(hf, "weight of the wrong shape", With(HfExport, ("--checkpoint", "{ck_shape}")), "q_proj");
        yield return C(hf, "z buffer of the wrong shape", With(HfExport, ("--checkpoint", "{ck_zshape}")), "{ck_zshape}");
        yield return C(hf, "schedule-free beta1 0", With(HfExport, ("--checkpoint", "{ck_beta}")), "beta1");
        yield return C(hf, "bad RNG state", With(HfExport, ("--checkpoint", "{ck_badrng}")), "RNG state");
        yield return C(hf, "--checkpoint missing", With(HfExport, ("--checkpoint", "{fresh:ck}")), "{fresh:ck}");
        yield return C(hf, "checksum mismatch", With(HfExport, ("--checkpoint", "{ck_corrupt}")), "{ck_corrupt}");
        yield return C(hf, "safetensors header claiming 4 TB", With(HfExport, ("--checkpoint", "{ck_huge}")), "{ck_huge}");

        // ---- entropy
        const string entropy = "entropy";
        yield return C(entropy, "--profiles missing", With(Entropy, ("--profiles", "{fresh:none.parquet}")), "{fresh:none.parquet}");
        yield return C(entropy, "--profiles footer 2 GiB", With(Entropy, ("--profiles", "{p_footer2g}")), "{p_footer2g}");
        yield return C(entropy, "--profiles a pipe", With(Entropy, ("--profiles", "{fifo}")), "{fifo}") with { InChildProcess = true };
        yield return C(entropy, "--scheme bogus", With(Entropy, ("--scheme", "bogus")), "bogus");
        yield return C(entropy, "--selection-scheme bogus", With(Entropy, ("--selection-scheme", "bogus")), "bogus");

        // ---- solve-n
        const string solve = "solve-n";
        yield return C(solve, "--target-bits 0", With(SolveN, ("--target-bits", "0")), "--target-bits");
        yield return C(solve, "--target-bits -5", With(SolveN, ("--target-bits", "-5")), "--target-bits");
        yield return C(solve, "--target-bits 1e300", With(SolveN, ("--target-bits", "1e300")), "--target-bits");
        yield return C(solve, "--target-bits NaN", With(SolveN, ("--target-bits", "NaN")), "--target-bits");
        yield return C(solve, "--target-bits Infinity", With(SolveN, ("--target-bits", "Infinity")), "--target-bits");
        yield return C(solve, "--relations 0", With(SolveN, ("--relations", "0")), "--relations");
        yield return C(solve, "--relations 18", With(SolveN, ("--relations", "18")), "--relations");
        yield return C(solve, "--lists-dir missing", With(SolveN, ("--lists-dir", "{fresh:lists}")), "{fresh:lists}");

        // ---- measure
        const string measure = "measure";
        yield return C(measure, "--results missing", With(Measure, ("--results", "{fresh:results}")), "{fresh:results}");
        yield return C(measure, "--results a file", With(Measure, ("--results", "{p}")), "{p}");
        yield return C(measure, "--results without runs", With(Measure, ("--results", "{empty}")), "{empty}");
        yield return C(measure, "--out empty", With(Measure, ("--out", "")), "--out");
        yield return C(measure, "--out read-only", With(Measure, ("--out", "{ro}/m")), "{ro}") with { Requires = "ro" };
        yield return C(measure, "--out a device", With(Measure, ("--out", "{dev}")), "{dev}");
        yield return C(measure, "--hops 3", With(Measure, ("--hops", "3")), "--hops");
        yield return C(measure, "--run-plots -1", With(Measure, ("--run-plots", "-1")), "--run-plots");
        yield return C(measure, "--profiles-dir missing", With(Measure, ("--profiles-dir", "{fresh:pd}")), "{fresh:pd}");

        // ---- probe
        const string probe = "probe";
        yield return C(probe, "neither --checkpoint nor --run", With(Probe, ("--checkpoint", null)), "--checkpoint");
        yield return C(probe, "both --checkpoint and --run", With(Probe, ("--run", "x")), "--run");
        yield return C(probe, "--run without --contact", With(Probe, ("--checkpoint", null), ("--run", "x")), "--contact");
        yield return C(probe, "--checkpoint missing", With(Probe, ("--checkpoint", "{fresh:ck}")), "{fresh:ck}");
        yield return C(probe, "bad RNG state", With(Probe, ("--checkpoint", "{ck_badrng}")), "RNG state") with { InChildProcess = true };
        yield return C(probe, "model wider than its weights", With(Probe, ("--checkpoint", "{ck_width}")), "{ck_width}");
        yield return C(probe, "--hops 3", With(Probe, ("--hops", "3")), "--hops");
        yield return C(probe, "--layers 0-99 (beyond the model)", With(Probe, ("--layers", "0-99")), "--layers");
        yield return C(probe, "--layers x", With(Probe, ("--layers", "x")), "--layers");
        yield return C(probe, "--layers 3-1", With(Probe, ("--layers", "3-1")), "--layers");
        yield return C(probe, "--positions bogus", With(Probe, ("--positions", "bogus")), "--positions");
        yield return C(probe, "--target bogus", With(Probe, ("--target", "bogus")), "--target");
        yield return C(probe, "--samples 0", With(Probe, ("--samples", "0")), "samples");
        yield return C(probe, "--eval-fraction 0", With(Probe, ("--eval-fraction", "0")), "fraction");
        yield return C(probe, "--eval-fraction 1", With(Probe, ("--eval-fraction", "1")), "fraction");
        yield return C(probe, "--eval-fraction NaN", With(Probe, ("--eval-fraction", "NaN")), "fraction");
        yield return C(probe, "--split bogus", With(Probe, ("--split", "bogus")), "--split");
        yield return C(probe, "--out empty", With(Probe, ("--out", "")), "--out");
        yield return C(probe, "--out read-only", With(Probe, ("--out", "{ro}/pr")), "{ro}") with { Requires = "ro" };
        yield return C(probe, "--out a device", With(Probe, ("--out", "{dev}")), "{dev}");
        yield return C(probe, "default output in a read-only run", With(Probe, ("--checkpoint", "{ro_ck}"), ("--out", null)), "{ro_run_dir}") with { Requires = "ro" };
        yield return C(probe, "--parallel 0", With(Probe, ("--parallel", "0")), "--parallel");
        yield return C(probe, "--attempts 0", With(Probe, ("--attempts", "0")), "--attempts");
        yield return C(probe, "--max-iter 0", With(Probe, ("--max-iter", "0")), "--max-iter");
        yield return C(probe, "--penalties -1", With(Probe, ("--penalties", "-1")), "--penalties");
        yield return C(probe, "--penalties NaN", With(Probe, ("--penalties", "NaN")), "--penalties");
        yield return C(probe, "--threads -1", With(Probe, ("--threads", "-1")), "--threads");
        yield return C(probe, "--reference with --hops 1", With(Probe, ("--reference", ""), ("--hops", "1")), "--hops");
        yield return C(probe, "--reference with --split question", With(Probe, ("--reference", ""), ("--split", "question")), "--split");
        yield return C(probe, "--reference with --target answer", With(Probe, ("--reference", ""), ("--target", "answer")), "--target");
        yield return C(probe, "--reference with --samples 10", With(Probe, ("--reference", ""), ("--samples", "10")), "--samples");

        // ---- generalization
        const string gen2 = "generalization";
        yield return C(gen2, "missing run folder", ["generalization", "{fresh:run}", "--out", "{fresh:gen}"], "{fresh:run}");
        yield return C(gen2, "a folder that is no run", ["generalization", "{empty}", "--out", "{fresh:gen}"], "{empty}");
        yield return C(gen2, "a file for the run", ["generalization", "{p}", "--out", "{fresh:gen}"], "{p}");
        yield return C(gen2, "--tuples 0", With(Generalization, ("--tuples", "0")), "--tuples");
        yield return C(gen2, "--modes bogus", With(Generalization, ("--modes", "bogus")), "--modes");
        yield return C(gen2, "--modes train_onehop", With(Generalization, ("--modes", "train_onehop")), "--modes");
        yield return C(gen2, "--batch-size 0", With(Generalization, ("--batch-size", "0")), "--batch-size");
        yield return C(gen2, "--out a device", With(Generalization, ("--out", "{dev}")), "{dev}");
        yield return C(gen2, "--out empty", With(Generalization, ("--out", "")), "--out");
        yield return C(probe, "--mode bogus", With(Probe, ("--mode", "bogus")), "--mode");

        // ---- sweep check
        const string check = "sweep check";
        yield return C(check, "missing file", ["sweep", "check", "{fresh:none.conf}"], "{fresh:none.conf}");
        yield return C(check, "a folder", ["sweep", "check", "{empty}"], "{empty}");
        yield return C(check, "a pipe (open would block)", ["sweep", "check", "{fifo}"], "{fifo}") with { InChildProcess = true };
        yield return C(check, "binary file", ["sweep", "check", "{sw_binary}"], "{sw_binary}");
        yield return C(check, "empty file", ["sweep", "check", "{sw_empty}"], "{sw_empty}");
        yield return C(check, "100,000-deep nesting", ["sweep", "check", "{sw_deep}"], "{sw_deep}");
        yield return C(check, "cyclic substitution", ["sweep", "check", "{sw_cycle}"], "{sw_cycle}");
        yield return C(check, "name = null", ["sweep", "check", "{sw_null}"], "sweep.name");
        yield return C(check, "25.6 million runs", ["sweep", "check", "{sw_grid}"], "25,600,000 runs");
        yield return C(check, "unknown key", ["sweep", "check", "{sw_unknown}"], "sweep.grid.layerz");
        yield return C(check, "lr Infinity", ["sweep", "check", "{sw_lr}"], "sweep.optimizer.lr");
        yield return C(check, "beta2 1.5", ["sweep", "check", "{sw_beta}"], "sweep.optimizer.beta2");
        yield return C(check, "2 MiB file", ["sweep", "check", "{sw_large}"], "{sw_large}");
        yield return C(check, "seq-len too short for one question", ["sweep", "check", "{sw_short}"], "sweep.seq-len: 17 is too short");
        yield return C(check, "more disk than is free", ["sweep", "check", "{sw_disk}", "--data-dir", "{fresh:data}"], "of disk, more than the");

        // ---- sweep run
        const string run = "sweep run";
        yield return C(run, "bad sweep file", ["sweep", "run", "{sw_unknown}", "--data-dir", "{fresh:data}"], "sweep.grid.layerz");
        yield return C(run, "--data-dir empty", With(SweepRun, ("--data-dir", "")), "--data-dir");
        yield return C(run, "--data-dir read-only", With(SweepRun, ("--data-dir", "{ro}/d")), "{ro}") with { Requires = "ro" };
        yield return C(run, "--data-dir a device", With(SweepRun, ("--data-dir", "{dev}")), "{dev}");
        yield return C(run, "--data-dir a file", With(SweepRun, ("--data-dir", "{p}")), "{p}");
        yield return C(run, "--config missing", With(SweepRun, ("--config", "{fresh:c.conf}")), "{fresh:c.conf}");
        yield return C(run, "--config unknown key", With(SweepRun, ("--config", "{cfg_unknown}")), "actorlab.node.cpu-slot");
        yield return C(run, "--config cpu-slots = 0", With(SweepRun, ("--config", "{cfg_slots}")), "actorlab.node.cpu-slots");
        yield return C(run, "--config cpu-slots = many", With(SweepRun, ("--config", "{cfg_type}")), "actorlab.node.cpu-slots");
        yield return C(run, "--config heartbeat 0s", With(SweepRun, ("--config", "{cfg_heartbeat}")), "actorlab.node.heartbeat-interval");
        yield return C(run, "--config read-ahead = 0", With(SweepRun, ("--config", "{cfg_readahead}")), "actorlab.data.read-ahead");
        yield return C(run, "--config unknown top-level key", With(SweepRun, ("--config", "{cfg_toplevel}")), "actorlabs");
        yield return C(run, "--config with sweep defaults", With(SweepRun, ("--config", "{cfg_sweep}")), "actorlab.sweep-defaults");
        yield return C(run, "--config cyclic substitution", With(SweepRun, ("--config", "{cfg_cycle}")), "{cfg_cycle}");
        yield return C(run, "--config duration 'soon'", With(SweepRun, ("--config", "{cfg_duration}")), "actorlab.console.ask-timeout");
        yield return C(run, "--config binary", With(SweepRun, ("--config", "{cfg_binary}")), "{cfg_binary}");
        yield return C(run, "--slots 0", With(SweepRun, ("--slots", "0")), "--slots");
        yield return C(run, "data-parallel above the slots", ["sweep", "run", "{sw_wide}", "--data-dir", "{fresh:data}", "--slots", "2"], "needs 3 slots on one node and this process has 2");
        yield return C(run, "25.6 million runs", ["sweep", "run", "{sw_grid}", "--data-dir", "{fresh:data}"], "25,600,000 runs");
        yield return C(run, "seq-len too short for one question", ["sweep", "run", "{sw_short}", "--data-dir", "{fresh:data}"], "sweep.seq-len: 17 is too short");
        yield return C(run, "more disk than is free", ["sweep", "run", "{sw_disk}", "--data-dir", "{fresh:data}", "--slots", "1"], "of disk, more than the");

        // ---- node
        const string node = "node";
        yield return C(node, "--port 70000", With(Node, ("--port", "70000")), "--port");
        yield return C(node, "--port -1", With(Node, ("--port", "-1")), "--port");
        yield return C(node, "--data-dir empty", With(Node, ("--data-dir", "")), "--data-dir");
        yield return C(node, "--data-dir read-only", With(Node, ("--data-dir", "{ro}/d")), "{ro}") with { Requires = "ro" };
        yield return C(node, "--data-dir a device", With(Node, ("--data-dir", "{dev}")), "{dev}");
        yield return C(node, "--config unknown key", With(Node, ("--config", "{cfg_unknown}")), "actorlab.node.cpu-slot");
        yield return C(node, "--log-file a device", With(Node, ("--log-file", "{dev}")), "{dev}");
        yield return C(node, "--log-file a pipe", With(Node, ("--log-file", "{fifo}")), "{fifo}") with { InChildProcess = true };
        yield return C(node, "--log-file empty", With(Node, ("--log-file", "")), "--log-file");
        yield return C(node, "--log-file read-only", With(Node, ("--log-file", "{ro}/node.log")), "{ro}") with { Requires = "ro" };
        yield return C(node, "--slots 0", With(Node, ("--slots", "0")), "--slots");
        yield return C(node, "--tls-certificate without --tls-ca", With(Node, ("--tls-certificate", "{fresh:n.pfx}")), "--tls-ca");
        yield return C(node, "--http-port 70000", With(Node, ("--http-port", "70000")), "--http-port must be 0..65535");
        yield return C(node, "--http-bind without --http-port", With(Node, ("--http-bind", "127.0.0.1")), "--http-bind goes with --http-port");
        yield return C(node, "--http-bind not an address", [.. Node, "--http-port", "0", "--http-bind", "example"], "--http-bind must be an IP address");
        yield return C(node, "--http-bind reachable without --insecure", [.. Node, "--http-port", "0", "--http-bind", "0.0.0.0"], "--http-bind 0.0.0.0");
        yield return C(node, "--https-certificate without --http-port", With(Node, ("--https-certificate", "{fresh:d.pfx}")), "--https-certificate goes with --http-port");
        yield return C(node, "--https-certificate a missing file", [.. Node, "--http-port", "0", "--https-certificate", "{fresh:d.pfx}"], "{fresh:d.pfx}");
        yield return C(node, "--https-certificate not a pfx", [.. Node, "--http-port", "0", "--https-certificate", "{sw_null}"], "cannot be read as a .pfx");
        yield return C(node, "--https-password-file without a certificate", [.. Node, "--http-port", "0", "--https-password-file", "{sw_null}"], "goes with --https-certificate");
        yield return C(node, "--config data-plane port 70000", With(Node, ("--config", "{cfg_dataplane}")), "actorlab.data-plane.port");

        // ---- console
        const string console = "console";
        yield return C(console, "no --contact", ["console", "status"], "--contact");
        yield return C(console, "--contact without a port", ["console", "--contact", "localhost", "status"], "localhost");
        yield return C(console, "--contact port 99999", ["console", "--contact", "127.0.0.1:99999", "status"], "99999");
        yield return C(console, "--contact empty", ["console", "--contact", "", "status"], "--contact");
        yield return C(console, "no node listening", ["console", "--contact", "127.0.0.1:1", "status"], "127.0.0.1:1");
        yield return C(console, "submit a missing file", ["console", "--contact", "127.0.0.1:1", "submit", "{fresh:none.conf}"], "{fresh:none.conf}");
        yield return C(console, "submit a bad sweep file", ["console", "--contact", "127.0.0.1:1", "submit", "{sw_null}"], "sweep.name");
        yield return C(console, "unknown verb", ["console", "--contact", "127.0.0.1:1", "frobnicate"], "frobnicate");
        yield return C(console, "history without a run", ["console", "--contact", "127.0.0.1:1", "history"], "Required argument missing for command: 'history'");
        yield return C(console, "history --limit 0", ["console", "--contact", "127.0.0.1:1", "history", "s/r", "--limit", "0"], "--limit must be 1..1000");
        yield return C(console, "--tls-ca without --tls-certificate", ["console", "--contact", "127.0.0.1:1", "--tls-ca", "{fresh:ca.crt}", "status"], "--tls-certificate");
        yield return C(console, "--tls-certificate a missing file", ["console", "--contact", "127.0.0.1:1", "--tls-certificate", "{fresh:c.pfx}",
            "--tls-ca", "{fresh:ca.crt}", "status"], "{fresh:ca.crt}");

        // ---- certs
        const string certs = "certs";
        yield return C(certs, "issue without a CA", ["certs", "issue", "--dir", "{fresh:ca}", "--node", "a"], "actorlab certs init");
        yield return C(certs, "issue neither --node nor --console", ["certs", "issue", "--dir", "{fresh:ca}"], "--node NAME or --console NAME");
        yield return C(certs, "issue a name with a slash", ["certs", "issue", "--dir", "{fresh:ca}", "--console", "a/b"], "--console 'a/b'");
        yield return C(certs, "issue --san neither address nor name", ["certs", "issue", "--dir", "{fresh:ca}", "--node", "a", "--san", "a b"], "--san 'a b'");
        yield return C(certs, "init without --dir", ["certs", "init"], "--dir");

        // ---- token issue
        const string token = "token issue";
        yield return C(token, "--role admin", ["token", "issue", "ann", "--role", "admin", "--tokens-file", "{fresh:tokens}", "--out", "{fresh:ann.token}"], "admin");
        yield return C(token, "a name with a slash", ["token", "issue", "a/b", "--tokens-file", "{fresh:tokens}", "--out", "{fresh:ab.token}"], "a/b");
        yield return C(token, "--out an existing file", ["token", "issue", "ann", "--tokens-file", "{fresh:tokens}", "--out", "{p}"], "{p}");
        yield return C(token, "--tokens-file not a tokens file", ["token", "issue", "ann", "--tokens-file", "{p}", "--out", "{fresh:ann.token}"], "--tokens-file");
        yield return C(token, "--out a device", ["token", "issue", "ann", "--tokens-file", "{fresh:tokens}", "--out", "{dev}"], "{dev}");

        // ---- db check
        const string dbcheck = "db check";
        yield return C(dbcheck, "--config missing", ["db", "check", "--data-dir", "{fresh:data}", "--config", "{fresh:none.conf}"], "{fresh:none.conf}");
        yield return C(dbcheck, "a journal file that is no database", ["db", "check", "--data-dir", "{notdb}"], "journal.db");

        // ---- the root command
        yield return C("actorlab", "unknown command", ["frobnicate"], "frobnicate");
        yield return C("actorlab", "terminal escapes in an argument", ["profiles", "stats", "{fresh:\u001b[2J\u0007.parquet}"], "does not exist");
    }
}
