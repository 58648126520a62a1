using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorLab.Actors.Tests.Fuzz;
using ActorLab.Actors.Training;
using ActorLab.Host.Tests.Robustness;

namespace ActorLab.Bench;

/// <summary>
/// `badinput [--isolated] [FUZZ_CASES] [SEED]`: the two robustness tables of docs/robustness.md, from the same bad-input suite and
/// sweep-file fuzzer the tests run (their sources are linked into this project):
/// 1. bad invocations -> outcome per command (clean error, unclear error, stack trace, abort, hang, accepted, files changed);
/// 2. fuzzed sweep files -> outcome per mutation kind (planned, clean error, crash, hang), with the slowest case.
/// With --isolated every invocation runs as a child process of the real executable (as a user runs it; slower), else
/// as the tests run them (in-process, a few in child processes). The fuzz cases run in a child process that reports one line per case, so that a crash the runtime cannot catch
/// (a stack overflow) is counted as one crash and the run goes on with the next case.
/// </summary>
public static class BadInputBench
{
    public const string FuzzChild = "badinput-fuzz-child";
    static readonly TimeSpan InvocationBound = TimeSpan.FromSeconds(60), FuzzBound = TimeSpan.FromSeconds(10);

    public static int Run(string[] args)
    {
        bool isolated = args.Contains("--isolated");
        args = args.Where(a => a != "--isolated").ToArray();
        int fuzzCases = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
        int seed = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15;
        var md = new StringBuilder();
        md.AppendLine($"# badinput ({BenchResults.Machine()})").AppendLine();

        var sw = Stopwatch.StartNew();
        List<BadInputResult> invocations;
        using (var sandbox = new BadInputSandbox())
        {
            var setup = sw.Elapsed;
            invocations = BadInvocations.All.Select(c => BadInputRunner.Run(c, sandbox, InvocationBound, isolated)).ToList();
            md.AppendLine($"## Bad invocations -> clean errors ({invocations.Count} invocations, {invocations.Select(r => r.Case.Command).Distinct().Count()} commands, " +
                          $"{(isolated ? "each in its own process" : "in-process")}; " +
                          $"sandbox {setup.TotalSeconds:F1} s, cases {(sw.Elapsed - setup).TotalSeconds:F1} s, slowest {invocations.Max(r => r.Elapsed).TotalSeconds:F1} s)").AppendLine();
            md.AppendLine(BadInputRunner.Table(invocations));
        }

        sw.Restart();
        var fuzz = fuzzCases > 0 ? RunFuzzInChildren(seed, fuzzCases) : [];
        if (fuzz.Count > 0)
        {
            md.AppendLine($"## Fuzzed sweep files -> clean errors ({fuzz.Count} files, seed {seed}, {sw.Elapsed.TotalSeconds:F1} s)").AppendLine();
            md.AppendLine(FuzzTable(fuzz));
        }

        md.AppendLine("## Every invocation").AppendLine();
        md.AppendLine("| command | case | outcome | error line (or why) |").AppendLine("|---|---|---|---|");
        foreach (var r in invocations)
            md.AppendLine($"| {r.Case.Command} | {Cell(r.Case.Name)} | {BadInputRunner.Label(r.Outcome)} | {Cell(r.Why)} |");
        var problems = fuzz.Where(r => r.Outcome is FuzzOutcome.Crash or FuzzOutcome.Hang).ToList();
        if (problems.Count > 0)
        {
            md.AppendLine().AppendLine("## Fuzz crashes and hangs").AppendLine();
            foreach (var r in problems.Take(50)) md.AppendLine($"- #{r.Case.Index} {r.Case.Kind}: {r.Outcome} {Cell(r.Detail)}");
        }

        var text = md.ToString();
        Console.WriteLine(text);
        Console.WriteLine($"wrote {BenchResults.Write("badinput", text)}");
        return 0;
    }

    static string Cell(string s) => ActorLab.Host.Cli.CliApp.OneLine(s, 200).Replace("|", "\\|");

    static string FuzzTable(IReadOnlyList<FuzzResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| mutation | files | planned | clean error | crash | hang | slowest (ms) |").AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var g in results.GroupBy(r => r.Case.Kind))
            sb.AppendLine($"| {g.Key} | {g.Count()} | {Count(g, FuzzOutcome.Planned)} | {Count(g, FuzzOutcome.CleanError)} | {Count(g, FuzzOutcome.Crash)} | {Count(g, FuzzOutcome.Hang)} | {g.Max(r => r.Elapsed.TotalMilliseconds):F0} |");
        sb.AppendLine($"| **all** | **{results.Count}** | **{Count(results, FuzzOutcome.Planned)}** | **{Count(results, FuzzOutcome.CleanError)}** | **{Count(results, FuzzOutcome.Crash)}** | **{Count(results, FuzzOutcome.Hang)}** | **{results.Max(r => r.Elapsed.TotalMilliseconds):F0}** |");
        return sb.ToString();
    }

    static int Count(IEnumerable<FuzzResult> rs, FuzzOutcome o) => rs.Count(r => r.Outcome == o);

    /// <summary>Runs cases [start, count) in child processes, restarting after a child dies (its current case: a crash).</summary>
    static List<FuzzResult> RunFuzzInChildren(int seed, int count)
    {
        var cases = SweepFuzzer.Cases(seed, count).ToList();
        var results = new List<FuzzResult>();
        int next = 0;
        while (next < count)
        {
            var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(BadInputBench).Assembly.Location);
            foreach (var a in new[] { FuzzChild, seed.ToString(CultureInfo.InvariantCulture), next.ToString(CultureInfo.InvariantCulture), count.ToString(CultureInfo.InvariantCulture) })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            string? line;
            while ((line = p.StandardOutput.ReadLine()) != null)
            {
                var f = line.Split('\t', 4);
                if (f.Length < 4 || !int.TryParse(f[0], out var i)) continue;
                results.Add(new FuzzResult(cases[i], Enum.Parse<FuzzOutcome>(f[1]), f[3], TimeSpan.FromMilliseconds(double.Parse(f[2], CultureInfo.InvariantCulture))));
                next = i + 1;
            }
            p.WaitForExit();
            if (next < count && p.ExitCode != 0)
            {
                var why = stderr.Result.Split('\n').FirstOrDefault(l => l.Length > 0) ?? $"exit {p.ExitCode}";
                results.Add(new FuzzResult(cases[next], FuzzOutcome.Crash, $"the process died: {why}", TimeSpan.Zero));
                next++;
            }
            else if (next < count) break; // the child stopped early without dying: do not loop forever
        }
        return results;
    }

    public static int RunFuzzChild(string[] args)
    {
        int seed = int.Parse(args[0], CultureInfo.InvariantCulture), start = int.Parse(args[1], CultureInfo.InvariantCulture), count = int.Parse(args[2], CultureInfo.InvariantCulture);
        Func<double, int, int>? solveN = null; // the planner's own N solver
        foreach (var c in SweepFuzzer.Cases(seed, count).Skip(start))
        {
            var r = SweepFuzzer.Run(c, FuzzBound, solveN);
            var detail = ActorLab.Host.Cli.CliApp.OneLine(r.Detail, 300);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Index}\t{r.Outcome}\t{r.Elapsed.TotalMilliseconds:F1}\t{detail}"));
            Console.Out.Flush();
        }
        return 0;
    }
}
