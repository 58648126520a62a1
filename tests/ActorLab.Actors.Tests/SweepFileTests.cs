using ActorLab.Actors.Config;
using ActorLab.Actors.Sweeps;
using ActorLab.Model.Common;

namespace ActorLab.Actors.Tests;

public class SweepFileTests
{
    static UserInputException Rejects(string text) => Assert.Throws<UserInputException>(() => SweepFile.Parse(text, "bad.conf"));

    [Fact]
    public void Tiny_sweep_parses_with_defaults_filled_in()
    {
        var def = SweepFile.Parse(TestSweeps.Tiny, "t.conf");
        Assert.Equal("tiny", def.Name);
        Assert.Equal([330000L, 340000L], def.ParamBudgets.ToArray());
        Assert.Equal(2, def.Orders.Length);
        Assert.Equal([1, 2], def.Orders[1].ToArray());
        Assert.Equal(0.1, def.HopRatio);                       // default from actorlab.conf
        Assert.Equal("schedulefree", def.Training.Optimizer);   // default
        Assert.Equal([10L, 20L], def.Training.EvalSteps.ToArray());
        Assert.Equal(5, def.Training.CheckpointEvery);
    }

    [Fact]
    public void Plan_expands_the_grid_into_runs_and_shared_datasets()
    {
        var spec = TestSweeps.Spec();
        Assert.Single(spec.Datasets);
        Assert.Equal(4, spec.Runs.Length); // 2 budgets x 2 order sets
        Assert.All(spec.Runs, r => Assert.StartsWith("tiny/mup_n20_p", r.RunId));
        Assert.Contains(spec.Runs, r => r.RunName.Contains("_omin1_omax2_wd0.1_l1_lr0.001_beta10.99_sf_r2"));
        Assert.Equal(TestSweeps.Spec().ContentHash, spec.ContentHash);
        Assert.NotEqual(TestSweeps.Spec(TestSweeps.Tiny.Replace("max-steps = 20", "max-steps = 21")).ContentHash, spec.ContentHash);
    }

    [Theory]
    [InlineData("grid.layerz = [2]", "sweep.grid.layerz: unknown key")]
    [InlineData("grid.relations = [2, 18]", "sweep.grid.relations[1]: 18 is not in 1..17")]
    [InlineData("grid.param-budgets = [-5]", "sweep.grid.param-budgets[0]: -5 is not in 323073..")]
    [InlineData("grid.layers = 2", "sweep.grid.layers: expected a list")]
    [InlineData("grid.layers = [two]", "sweep.grid.layers[0]: expected a number, got 'two'")]
    [InlineData("grid.layers = [1.5]", "sweep.grid.layers[0]: expected a whole number")]
    [InlineData("hop-ratio = 0", "sweep.hop-ratio: 0 must be above 0")]
    [InlineData("optimizer.name = sgd", "sweep.optimizer.name: 'sgd' is not one of schedulefree, adamw")]
    [InlineData("optimizer.beta1 = 1", "sweep.optimizer.beta1: 1 must be below 1")]
    [InlineData("bipartite = maybe", "sweep.bipartite: expected true or false")]
    [InlineData("grid.orders = [[2]]", "sweep.grid.orders[0]: 2-hop questions need 1-hop ones too")]
    [InlineData("grid.orders = [[1, 3]]", "sweep.grid.orders[0][1]: 3 is not in 1..2")]
    [InlineData("grid.target-bits = [1000]", "sweep.grid: give exactly one of target-bits")]
    [InlineData("eval.steps = [20, 10]", "sweep.eval.steps[1]: steps must increase")]
    [InlineData("eval.steps = sometimes", "sweep.eval.steps: expected \"spec\" or a list")]
    [InlineData("optimizer = adamw", "sweep.optimizer: expected an object")]
    [InlineData("data-parallel = 0", "sweep.data-parallel: 0 is not in 1..64")]
    [InlineData("max-steps = -1", "sweep.max-steps: -1 is not at least 1")]
    public void Bad_values_are_rejected_with_the_hocon_path(string line, string expected)
    {
        var text = TestSweeps.Tiny.TrimEnd().TrimEnd('}') + "\n  " + line + "\n}\n";
        var e = Rejects(text);
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("bad.conf: ", e.Message);
    }

    [Fact]
    public void A_key_outside_the_sweep_block_or_a_missing_name_is_rejected()
    {
        Assert.Contains("other: unknown key", Rejects(TestSweeps.Tiny + "\nother = 1\n").Message);
        Assert.Contains("sweep.name: a sweep needs a name", Rejects(TestSweeps.Tiny.Replace("name = tiny", "")).Message);
        Assert.Contains("sweep.name: 'a b' may only use", Rejects(TestSweeps.Tiny.Replace("name = tiny", "name = \"a b\"")).Message);
        Assert.Contains("line 1: '{' is never closed", Rejects("sweep { name = x ").Message);
        Assert.Contains("line 2: ']' closes the '{'", Rejects("sweep { grid {\n layers = [1 ] ] }").Message);
        Assert.Contains("line 1: '}' closes the '[' opened on line 1", Rejects("sweep { grid { layers = [1, 2 } }").Message); // hangs Akka's parser
        Assert.Contains("unclosed \" string", Rejects("sweep { name = \"x }").Message);
        Assert.Contains("sweep.max-steps: missing value", Rejects("sweep { name = x, max-steps = }").Message);
    }

    [Fact]
    public void Missing_file_is_a_user_error()
    {
        var e = Assert.Throws<UserInputException>(() => SweepFile.Load("/nonexistent/sweep.conf"));
        Assert.Contains("/nonexistent/sweep.conf", e.Message);
    }

    [Fact]
    public void Shipped_sweep_files_are_valid()
    {
        var dir = FindRepoFile("hocon/sweeps");
        var files = Directory.GetFiles(dir, "*.conf");
        Assert.NotEmpty(files);
        foreach (var f in files)
        {
            var def = SweepFile.Load(f);
            Assert.False(string.IsNullOrEmpty(def.Name));
        }
    }

    [Fact]
    public void Defaults_hold_every_runtime_setting()
    {
        var c = ActorLabConfig.Defaults;
        Assert.Equal(2, c.GetInt("actorlab.node.cpu-slots"));
        Assert.Equal("PinnedDispatcher", c.GetString("actorlab.trainer-dispatcher.type"));
        Assert.Equal("SQLite.MS", c.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.True(c.GetInt("actorlab.coordinator.snapshot-every") > 0);
    }

    internal static string FindRepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, relative);
            if (File.Exists(Path.Combine(dir.FullName, "ActorLab.sln")) && (Directory.Exists(p) || File.Exists(p))) return p;
        }
        throw new InvalidOperationException($"{relative} not found above {AppContext.BaseDirectory}");
    }
}
