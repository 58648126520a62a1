using ActorLab.Actors.Sweeps;

namespace ActorLab.Actors.Tests;

/// <summary>Small sweep definitions for tests.</summary>
public static class TestSweeps
{
    public const string Tiny = """
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
        """;

    public static SweepPlan Plan(string text = Tiny) => SweepPlanner.Plan(SweepFile.Parse(text, "test.conf"));

    public static SweepPlan Named(string name, int dataParallel = 1) =>
        Plan(Tiny.Replace("name = tiny", $"name = {name}").Replace("checkpoint.every = 5", $"checkpoint.every = 5\n  data-parallel = {dataParallel}"));
}
