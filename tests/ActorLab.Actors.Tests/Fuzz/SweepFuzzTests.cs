using System.Diagnostics;
using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Training;
using ActorLab.Model.Common;

namespace ActorLab.Actors.Tests.Fuzz;

/// <summary>
/// Sweep files from a hostile user: every fuzzed file plans or is refused with one clean error, none crashes (no
/// stack overflow, no NullReferenceException) and none runs past the time bound; and the fuzz trial's own findings,
/// each with the error it now gets.
/// </summary>
public class SweepFuzzTests
{
    static readonly Func<double, int, int>? SolveN = null; // the planner's own N solver
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public void Fuzzed_sweep_files_plan_or_fail_cleanly_without_crashes_or_hangs()
    {
        var sw = Stopwatch.StartNew();
        var results = SweepFuzzer.Cases(seed: 15, count: 720).Select(c => SweepFuzzer.Run(c, Bound, SolveN)).ToList();
        var bad = results.Where(r => r.Outcome is FuzzOutcome.Crash or FuzzOutcome.Hang).ToList();
        Assert.True(bad.Count == 0, string.Join("\n", bad.Take(20).Select(r =>
            $"#{r.Case.Index} {r.Case.Kind}: {r.Outcome} {r.Detail} <- {SweepFuzzer.Excerpt(r.Case.Text)}")));
        // the mutations reach both sides: some files stay valid, most are refused, every kind was tried
        Assert.InRange(results.Count(r => r.Outcome == FuzzOutcome.Planned), 20, 600);
        Assert.InRange(results.Count(r => r.Outcome == FuzzOutcome.CleanError), 200, 700);
        Assert.Equal(SweepFuzzer.Mutations.Length, results.Select(r => r.Case.Kind).Distinct().Count());
        // clean errors name the file (parse errors) or the sweep setting (planning errors) they are about
        Assert.All(results.Where(r => r.Outcome == FuzzOutcome.CleanError), r => Assert.Matches("^(fuzz.conf: |sweep[.])", r.Detail));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"the fuzz run took {sw.Elapsed.TotalSeconds:F0} s");
    }

    [Theory]
    [InlineData("deep brackets", "grid.layers = " + "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "nested deeper than 64 levels")]
    [InlineData("cyclic substitution", "max-steps = ${sweep.max-steps}", "substitutions (${...}) are not supported")]
    [InlineData("name = null", "name = null", "sweep.name: expected a value, got null")]
    public void The_fuzz_trials_crashes_are_clean_errors(string what, string line, string expected)
    {
        var text = SweepFuzzer.Bases[0].TrimEnd().TrimEnd('}') + "\n  " + line + "\n}\n";
        var r = SweepFuzzer.Run(new FuzzCase(0, what, text), Bound, SolveN);
        Assert.True(r.Outcome == FuzzOutcome.CleanError, $"{r.Outcome}: {r.Detail}");
        Assert.Contains(expected, r.Detail);
    }

    [Fact]
    public void A_hundred_thousand_deep_nesting_and_dotted_key_are_refused_before_akka_parses_them()
    {
        foreach (var text in new[]
                 {
                     "sweep { grid { layers = " + new string('[', 100_000) + "1" + new string(']', 100_000) + " } }",
                     "sweep { " + string.Join(".", Enumerable.Repeat("a", 100_000)) + " = 1 }",
                     "sweep { " + string.Join(" . ", Enumerable.Repeat("a", 100_000)) + " = 1 }",
                 })
        {
            var r = SweepFuzzer.Run(new FuzzCase(0, "deep", text), Bound, SolveN);
            Assert.True(r.Outcome == FuzzOutcome.CleanError, $"{r.Outcome}: {r.Detail}");
            Assert.Contains("nested deeper than 64 levels", r.Detail);
        }
    }

    [Fact]
    public void A_grid_of_25_million_runs_is_refused_with_its_count_before_planning()
    {
        var budgets = string.Join(", ", Enumerable.Range(0, 160).Select(i => 400000 + 1000 * i));
        var text = $$"""
            sweep {
              name = big
              grid {
                layers = [{{string.Join(", ", Enumerable.Range(1, 160))}}]
                param-budgets = [{{budgets}}]
                n-profiles = [100]
                orders = [[1]]
                seeds = [{{string.Join(", ", Enumerable.Range(0, 1000))}}]
              }
            }
            """;
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<UserInputException>(() => SweepFile.Parse(text, "big.conf"));
        Assert.Contains("the grid makes 25,600,000 runs, more than the 100,000 a sweep may have", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"{sw.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void A_grid_at_the_bound_is_still_planned()
    {
        // 1 x 1 x 1 x 1 x 100,000 seeds = the bound itself
        var text = SweepFuzzer.Bases[0].Replace("param-budgets = [330000, 340000]", "param-budgets = [330000]")
            .Replace("orders = [[1], [1, 2]]", "orders = [[1]]").TrimEnd().TrimEnd('}') +
                   $"\n  grid.seeds = [{string.Join(", ", Enumerable.Range(0, (int)SweepFile.MaxRuns))}]\n}}\n";
        var spec = SweepPlanner.Plan(SweepFile.Parse(text, "edge.conf"));
        Assert.Equal(SweepFile.MaxRuns, spec.Runs.Length);
        var over = text.Replace($", {SweepFile.MaxRuns - 1}]", $", {SweepFile.MaxRuns - 1}, {SweepFile.MaxRuns}]");
        Assert.Contains("100,001 runs", Assert.Throws<UserInputException>(() => SweepFile.Parse(over, "edge.conf")).Message);
    }
}
