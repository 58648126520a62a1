using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using ActorLab.Actors.Sweeps;
using ActorLab.Model.Common;

namespace ActorLab.Actors.Tests.Fuzz;

/// <summary>What one fuzzed sweep file did: it planned, it was refused with a clean error, or it crashed or hung.</summary>
public enum FuzzOutcome { Planned, CleanError, Crash, Hang }

public sealed record FuzzCase(int Index, string Kind, string Text);

public sealed record FuzzResult(FuzzCase Case, FuzzOutcome Outcome, string Detail, TimeSpan Elapsed);

/// <summary>
/// Seeded random mutations of valid sweep files, each kind aimed at a way a parser breaks: deep nesting (brackets and
/// dotted keys), cyclic and exponential substitutions, nulls, huge and non-finite numbers, wrong types, unknown keys,
/// grids of millions of runs, unicode and control characters, truncation and random edits. <see cref="Run"/> parses
/// and plans one file (what `sweep check` does) on a thread with a small stack and a time bound: a valid plan or a
/// <see cref="UserInputException"/> is fine, anything else is a crash, and running past the bound is a hang.
/// Used by the fuzz test (tests/ActorLab.Actors.Tests) and the `badinput` benchmark.
/// </summary>
public static class SweepFuzzer
{
    /// <summary>Valid sweep files the mutations start from.</summary>
    public static readonly string[] Bases =
    [
        """
        sweep {
          name = tiny
          grid {
            layers = [1]
            param-budgets = [330000, 340000]
            relations = [2]
            n-profiles = [20]
            orders = [[1], [1, 2]]
          }
          vocab-size = 400
          batch-size = 4
          seq-len = 64
          max-steps = 20
          eval.steps = [10, 20]
          checkpoint.every = 5
        }
        """,
        """
        # A small but real capacity sweep
        sweep {
          name = quickstart
          grid {
            layers = [1]
            param-budgets = [340000, 380000, 450000]
            relations = [2]
            n-profiles = [100, 150]
            orders = [[1], [1, 2]]
            seeds = [0]
          }
          vocab-size = 600
          batch-size = 16
          seq-len = 128
          max-steps = 1000
          optimizer { lr = 0.01, warmup-steps = 50 }
          convergence.enabled = false
          eval { steps = [100, 200, 400, 700, 1000], questions = 200 }
          checkpoint.every = 50
        }
        """,
        """
        sweep {
          name = "bits_sweep-2"
          grid { layers = [1, 2], param-budgets = [400000], relations = [1, 3], target-bits = [20000, 40000], orders = [[1, 2]], seeds = [0, 1] }
          hop-ratio = 0.5
          bipartite = true
          dataset-seed = 3
          optimizer { name = adamw, lr = 3e-3, beta1 = 0.9, beta2 = 0.95, weight-decay = 0, schedule = linear }
          convergence { enabled = true, min-step = 100, threshold = 1e-6 }
          eval.steps = spec
          checkpoint { every = 100, keep-last = 1 }
          data-parallel = 2
        }
        """,
    ];

    public sealed record Mutation(string Kind, Func<string, Random, string> Apply);

    static readonly Regex Assignment = new(@"(?m)^(\s*[A-Za-z0-9_.\-""]+\s*[=:]\s*)(.+)$");
    static readonly Regex Number = new(@"(?<![A-Za-z_\-])-?\d+(\.\d+)?([eE]-?\d+)?");

    static string Pick(Random r, params string[] xs) => xs[r.Next(xs.Length)];

    /// <summary>Replaces the value of a random `key = value` line.</summary>
    static string ReplaceValue(string text, Random r, string value)
    {
        var ms = Assignment.Matches(text);
        if (ms.Count == 0) return text + "\n" + value;
        var m = ms[r.Next(ms.Count)];
        return text[..m.Groups[2].Index] + value + text[(m.Groups[2].Index + m.Groups[2].Length)..];
    }

    static string InsertInSweep(string text, Random r, string line)
    {
        var at = text.IndexOf('{');
        return at < 0 ? line + "\n" + text : text[..(at + 1)] + "\n  " + line + "\n" + text[(at + 1)..];
    }

    /// <summary>Appends a line at the end of the sweep block, where it overrides what the block set before.</summary>
    static string AppendInSweep(string text, string line)
    {
        var at = text.LastIndexOf('}');
        return at < 0 ? text + "\n" + line : text[..at] + "\n  " + line + "\n" + text[at..];
    }

    static string Repeat(string s, int n) => new StringBuilder(s.Length * n).Insert(0, s, n).ToString();

    public static readonly Mutation[] Mutations =
    [
        new("deep-nesting", (t, r) =>
        {
            int k = int.Parse(Pick(r, "8", "63", "65", "1000", "100000"));
            return r.Next(2) == 0
                ? ReplaceValue(t, r, Repeat("[", k) + "1" + Repeat("]", k))
                : InsertInSweep(t, r, "grid " + Repeat("{ x ", k) + "= 1" + Repeat(" }", k));
        }),
        new("deep-keys", (t, r) =>
        {
            int k = int.Parse(Pick(r, "5", "64", "200", "20000"));
            var sep = r.Next(3) == 0 ? " . " : ".";
            return InsertInSweep(t, r, string.Join(sep, Enumerable.Repeat("a", k)) + " = 1");
        }),
        new("cycle", (t, r) => Pick(r,
            t + "\nsweep.name = ${sweep.name}\n",
            t + "\na = ${b}\nb = ${a}\n",
            t + "\nsweep.grid.layers = ${sweep.grid}\n",
            InsertInSweep(t, r, "max-steps = ${sweep.max-steps}"),
            t + "\nsweep { grid = ${sweep} }\n",
            t + "\nx = [${x}, ${x}]\n")),
        new("billion-laughs", (t, r) =>
        {
            var sb = new StringBuilder(t).Append("\nl0 = [1, 1]\n");
            for (int i = 1; i < 30; i++) sb.Append($"l{i} = [${{l{i - 1}}}, ${{l{i - 1}}}]\n");
            return sb.Append("sweep.grid.seeds = ${l29}\n").ToString();
        }),
        new("null", (t, r) => ReplaceValue(t, r, Pick(r, "null", "[null]", "[[null]]", "{ }", "\"\""))),
        new("huge-number", (t, r) =>
        {
            var ms = Number.Matches(t);
            var v = Pick(r, "1e308", "1e309", "-1e309", "99999999999999999999999", "NaN", "Infinity", "-Infinity", "-0", "0x10",
                "1e-400", "2147483648", "9223372036854775808", "-2147483649", "4.9e-324", "1_000");
            if (ms.Count == 0) return t;
            var m = ms[r.Next(ms.Count)];
            return t[..m.Index] + v + t[(m.Index + m.Length)..];
        }),
        new("wrong-type", (t, r) => ReplaceValue(t, r, Pick(r, "abc", "\"abc\"", "[1, 2]", "{ a = 1 }", "true", "[]", "[[1]]", "[[[1]]]", "1 2 3", "\"\"\"x\"\"\""))),
        new("unknown-key", (t, r) => Pick(r,
            InsertInSweep(t, r, Pick(r, "layerz = [1]", "grid.foo = [1]", "optimizer.momentum = 0.9", "name2 = x", "\"weird key\" = 1")),
            t + "\nfoo = 1\n",
            t + "\nakka.loglevel = DEBUG\n",
            t + "\nsweep2 { name = x }\n")),
        new("huge-grid", (t, r) =>
        {
            string Range(int n) => "[" + string.Join(", ", Enumerable.Range(0, n)) + "]";
            return Pick(r,
                // the fuzz trial's hang: 160 layers x 160 budgets x 1000 seeds = 25.6 million runs
                AppendInSweep(t, $"grid {{ layers = {Range(160).Replace("[0, ", "[1, ")}, seeds = {Range(1000)} }}\ngrid.param-budgets = [" +
                                    string.Join(", ", Enumerable.Range(0, 160).Select(i => 400000 + 1000 * i)) + "]"),
                AppendInSweep(t, $"grid.seeds = {Range(200_000)}"),
                AppendInSweep(t, $"grid.seeds = {Range(30_000)}\ngrid.relations = [1, 2, 3, 4]"),
                AppendInSweep(t, $"grid.seeds = {Range(500)}"),
                AppendInSweep(t, $"grid.n-profiles = {Range(5000).Replace("[0, 1, ", "[")}"));
        }),
        new("unicode", (t, r) =>
        {
            var s = Pick(r, "\uFEFF", "\u202E", "\U0001F600", "\0", "\uD800", "\uFFFF", "e\u0301", "\u00A0", "\u2028", "\u001B[31m", "ｓｗｅｅｐ", "\uFFFD");
            return r.Next(2) == 0 ? ReplaceValue(t, r, Pick(r, s, "\"" + s + "\"", "n" + s + "x")) : t.Insert(r.Next(t.Length + 1), s);
        }),
        new("truncate", (t, r) => t[..r.Next(t.Length)]),
        new("byte-flip", (t, r) =>
        {
            var chars = t.ToCharArray();
            const string special = "{}[]\"=:.,$#\n\\ 0-e";
            for (int i = 0, k = 1 + r.Next(4); i < k && chars.Length > 0; i++)
                chars[r.Next(chars.Length)] = r.Next(3) == 0 ? (char)r.Next(1, 0xD7FF) : special[r.Next(special.Length)];
            return new string(chars);
        }),
        new("delete-line", (t, r) =>
        {
            var lines = t.Split('\n').ToList();
            lines.RemoveAt(r.Next(lines.Count));
            return string.Join('\n', lines);
        }),
        new("duplicate", (t, r) =>
        {
            var lines = t.Split('\n').ToList();
            var i = r.Next(lines.Count);
            return r.Next(3) == 0 ? t + "\n" + t : string.Join('\n', lines.Take(i + 1).Append(lines[i]).Concat(lines.Skip(i + 1)));
        }),
        new("long-string", (t, r) => ReplaceValue(t, r, "\"" + new string('x', int.Parse(Pick(r, "65", "100000", "2000000"))) + "\"")),
        new("escapes", (t, r) => ReplaceValue(t, r, Pick(r, "\"\\q\"", "\"\\u12\"", "\"\\u\"", "\"abc", "\"a\\", "\"\"\"abc", "\"\\uDC00\"", "'single'", "`tick`"))),
        new("empty", (t, r) => Pick(r, "", " ", "\n\n", "# only a comment\n", "sweep", "sweep {}", "sweep = 1", "sweep = null", "{}", "[]", "[1, 2]")),
    ];

    /// <summary><paramref name="count"/> cases from <paramref name="seed"/>, cycling through every mutation kind.</summary>
    public static IEnumerable<FuzzCase> Cases(int seed, int count)
    {
        var r = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var m = Mutations[i % Mutations.Length];
            var text = Bases[r.Next(Bases.Length)];
            // a few cases stack two mutations
            text = m.Apply(text, r);
            if (r.Next(8) == 0) text = Mutations[r.Next(Mutations.Length)].Apply(text, r);
            yield return new FuzzCase(i, m.Kind, text);
        }
    }

    /// <summary>
    /// Parses and plans one case on a thread with a 1 MiB stack (less than any thread ActorLab parses on), within
    /// <paramref name="timeout"/>. <paramref name="solveN"/> is the N solver for target-bits grids.
    /// </summary>
    public static FuzzResult Run(FuzzCase c, TimeSpan timeout, Func<double, int, int>? solveN = null)
    {
        FuzzOutcome outcome = FuzzOutcome.Hang;
        string detail = "";
        var sw = Stopwatch.StartNew();
        var thread = new Thread(() =>
        {
            try
            {
                var spec = SweepPlanner.Plan(SweepFile.Parse(c.Text, "fuzz.conf"), solveN);
                (outcome, detail) = spec.Runs.Length <= SweepFile.MaxRuns
                    ? (FuzzOutcome.Planned, $"{spec.Runs.Length} runs")
                    : (FuzzOutcome.Crash, $"planned {spec.Runs.Length} runs, above the bound");
            }
            catch (UserInputException e) { (outcome, detail) = (FuzzOutcome.CleanError, e.Message); }
            catch (Exception e) { (outcome, detail) = (FuzzOutcome.Crash, $"{e.GetType().Name}: {e.Message}"); }
        }, maxStackSize: 1 << 20) { IsBackground = true };
        thread.Start();
        if (!thread.Join(timeout)) return new FuzzResult(c, FuzzOutcome.Hang, $"still running after {timeout.TotalSeconds:0} s", sw.Elapsed);
        return new FuzzResult(c, outcome, detail, sw.Elapsed);
    }

    /// <summary>A short, printable excerpt of a case for failure messages.</summary>
    public static string Excerpt(string text, int max = 160)
    {
        var s = new string(text.Take(max).Select(ch => char.IsControl(ch) && ch != '\n' ? '?' : ch).ToArray()).Replace('\n', '|');
        return text.Length > max ? s + $"... ({text.Length} chars)" : s;
    }
}
