using System.Diagnostics;
using ActorLab.Host.Tests.Robustness;

namespace ActorLab.Bench;

/// <summary>
/// `damaged`: every kind of damage in <see cref="DamagedStates.All"/> done to a copy of a real sweep's data dir
/// (killed mid-run, or finished), then `sweep run` again with the real executable; one row per damage, and the
/// counts per outcome (target: 0 wrong results with exit 0, 0 hangs, 0 stack traces). The same catalogue and
/// runner as DamagedStateTests.
/// </summary>
public static class DamagedStateBench
{
    public static int Run(string[] args)
    {
        var sw = Stopwatch.StartNew();
        using var runner = new DamagedStateRunner();
        var setup = sw.Elapsed.TotalSeconds;
        var results = new List<DamageResult>();
        foreach (var d in DamagedStates.All)
        {
            var r = runner.Run(d);
            Console.Error.WriteLine($"{d.Area} / {d.Name}: {DamagedStateRunner.Name(r.Outcome)}{(r.AfterRepair is { } a ? " -> " + DamagedStateRunner.Name(a) : "")} ({r.Seconds:F0} s)");
            results.Add(r);
        }
        var counts = Enum.GetValues<DamageOutcome>().Select(o => $"| {DamagedStateRunner.Name(o)} | {results.Count(r => r.Outcome == o)} | {results.Count(r => (r.AfterRepair ?? r.Outcome) == o)} |");
        var md = $"""
            # damaged ({BenchResults.Machine()})

            ## Damaged state between restarts -> recovered or refused with a message ({results.Count} kinds; setup {setup:F0} s, all {sw.Elapsed.TotalSeconds:F0} s)

            | outcome | first `sweep run` | after the repair the message names |
            |---|---:|---:|
            {string.Join("\n", counts)}

            {DamagedStateRunner.Table(results)}
            """;
        Console.WriteLine(md);
        BenchResults.Write("damaged", md);
        return results.Any(r => r.Outcome is DamageOutcome.WrongResult or DamageOutcome.Hang or DamageOutcome.StackTrace) ? 1 : 0;
    }
}
