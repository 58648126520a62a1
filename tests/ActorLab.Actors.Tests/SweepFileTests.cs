using ActorLab.Actors.Config;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Training;
using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Tests;

public class SweepFileTests
{
    static UserInputException Rejects(string text) => Assert.Throws<UserInputException>(() => SweepFile.Parse(text, "bad.conf"));

    [Fact]
    public void Allow_cross_node_is_off_by_default_reaches_the_journal_and_names_a_different_sweep()
    {
        var plain = TestSweeps.Plan();
        Assert.False(plain.AllowCrossNode);
        var text = TestSweeps.Tiny.Replace("checkpoint.every = 5", "checkpoint.every = 5\n  data-parallel = 2\n  allow-cross-node = on");
        var wide = TestSweeps.Plan(text);
        Assert.True(wide.AllowCrossNode);
        Assert.NotEqual(TestSweeps.Plan(text.Replace("allow-cross-node = on", "allow-cross-node = off")).ContentHash, wide.ContentHash);
        var submitted = Assert.IsType<SweepSubmitted>(SweepState.Empty.Decide(new SubmitSweep(wide)).Events[0]);
        Assert.True(submitted.AllowCrossNode);
        Assert.True(SweepState.Empty.Apply(submitted).Sweeps[wide.Name].AllowCrossNode);
        Assert.Contains("sweep.allow-cross-node", Rejects(text.Replace("allow-cross-node = on", "allow-cross-node = sometimes")).Message);
    }

    [Fact]
    public void Tiny_sweep_parses_with_defaults_filled_in()
    {
        var def = SweepFile.Parse(TestSweeps.Tiny, "t.conf");
        Assert.Equal("tiny", def.Name);
        Assert.Equal([330000L, 340000L], def.ParamBudgets.ToArray());
        Assert.Equal(2, def.Orders.Length);
        Assert.Equal([1, 2], def.Orders[1].ToArray());
        Assert.Equal(0.1, def.Template.HopRatio);                     // default from actorlab.conf
        Assert.Equal("schedulefree", def.Template.Optimizer);         // default
        Assert.Equal([10L, 20L], def.Template.EvalSchedule.Steps.ToArray());
        Assert.Equal(5, def.Template.CheckpointEvery);
        Assert.Null(def.ListsDir);
    }

    [Fact]
    public void Plan_expands_the_grid_into_runs_and_shared_datasets()
    {
        var plan = TestSweeps.Plan();
        var dataset = Assert.Single(plan.Datasets);
        Assert.Equal(4, plan.Runs.Length); // 2 budgets x 2 order sets
        Assert.All(plan.Runs, r => Assert.StartsWith("tiny/mup_n20_p", r.RunId));
        Assert.All(plan.Runs, r => Assert.Equal(dataset, r.Dataset));
        Assert.All(plan.Runs, r => Assert.Equal((20, 2, "tiny"), (r.NProfiles, r.Relations, r.Sweep)));
        Assert.Contains(plan.Runs, r => r.RunName.Contains("_omin1_omax2_wd0.1_l1_lr0.001_beta10.99_sf_r2"));
        Assert.Equal(TestSweeps.Plan().ContentHash, plan.ContentHash);
        Assert.NotEqual(TestSweeps.Plan(TestSweeps.Tiny.Replace("max-steps = 20", "max-steps = 21")).ContentHash, plan.ContentHash);
        // the dataset's id is its content: the same N, R, seed, vocab and lists give the same id in any sweep
        Assert.Equal(dataset.Id, TestSweeps.Named("other").Datasets.Single().Id);
        Assert.NotEqual(dataset.Id, TestSweeps.Plan(TestSweeps.Tiny.Replace("vocab-size = 400", "vocab-size = 401")).Datasets.Single().Id);
    }

    [Fact]
    public void A_budget_below_the_smallest_model_for_its_layers_is_refused()
    {
        // 330,000 sizes a 1-layer model (width 16 needs 323,072) but not a 4-layer one (332,288)
        var text = TestSweeps.Tiny.Replace("layers = [1]", "layers = [1, 4]");
        var e = Assert.Throws<UserInputException>(() => TestSweeps.Plan(text));
        Assert.Contains("sweep.grid.param-budgets: 330000 is below the smallest model's budget with 4 layers, 332288", e.Message);
        Assert.Equal(332_288, ActorLab.Model.Transformer.LlamaMupConfig.MinBudget(4));
        Assert.Equal(16, ActorLab.Model.Transformer.LlamaMupConfig.WidthFor(ActorLab.Model.Transformer.LlamaMupConfig.MinBudget(4), 4));
        Assert.NotEmpty(TestSweeps.Plan(text.Replace("param-budgets = [330000, 340000]", "param-budgets = [340000]")).Runs);
    }

    [Fact]
    public void A_run_no_device_could_hold_is_refused_at_planning_with_its_figures()
    {
        // 65,536 x 65,536 tokens a batch: within each setting's own range, far beyond any accelerator together
        var text = TestSweeps.Tiny.Replace("batch-size = 4", "batch-size = 65536").Replace("seq-len = 64", "seq-len = 65536");
        var e = Assert.Throws<UserInputException>(() => TestSweeps.Plan(text));
        Assert.Contains("batch-size 65536 x seq-len 65536", e.Message);
        Assert.Contains("more than any device", e.Message);
        // the estimate grows with the batch, and the tiny sweep's runs are far below the limit
        var tiny = TestSweeps.Plan().Runs[0];
        var small = SweepPlanner.Memory(tiny, 400).TotalBytes;
        Assert.True(small < (64L << 20), $"tiny run estimated at {small} bytes");
        Assert.True(SweepPlanner.Memory(tiny with { BatchSize = 8 }, 400).ActivationBytes > SweepPlanner.Memory(tiny, 400).ActivationBytes);
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
    [InlineData("measure.schemes = [optimal, fancy]", "sweep.measure.schemes[1]: Unknown scheme 'fancy': expected one of optimal, 2-hop-big-hash, 2-hop-double")]
    [InlineData("measure.schemes = [optimal, optimal]", "sweep.measure.schemes[1]: 'optimal' is listed twice")]
    [InlineData("measure.schemes = [2-hop-double]", "sweep.measure.schemes: 2-hop-double inverts each subject's 2-hop loss")]
    [InlineData("measure.selection-schemes = []", "sweep.measure.selection-schemes: the list is empty")]
    [InlineData("measure.selection-schemes = [best]", "sweep.measure.selection-schemes[0]: Unknown selection scheme 'best'")]
    [InlineData("measure.subjectwise = maybe", "sweep.measure.subjectwise: expected true or false")]
    [InlineData("measure.hops = [2, 3]", "sweep.measure.hops[1]: 3 is not a hop level (1, 2 or 2.1)")]
    [InlineData("measure.hops = 2", "sweep.measure.hops: expected a list")]
    [InlineData("measure.scheme = [optimal]", "sweep.measure.scheme: unknown key (known here: schemes, selection-schemes, subjectwise, hops)")]
    [InlineData("lists-dir = \"/no/such/lists\"", "sweep.lists-dir: folder '/no/such/lists' does not exist")]
    public void Bad_values_are_rejected_with_the_hocon_path(string line, string expected)
    {
        var text = TestSweeps.Tiny.TrimEnd().TrimEnd('}') + "\n  " + line + "\n}\n";
        var e = Rejects(text);
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("bad.conf: ", e.Message);
    }

    /// <summary>../shared/data/reference-lists (ACTORLAB_SHARED, or beside the clone); skips where absent.</summary>
    static string ReferenceLists()
    {
        var env = Environment.GetEnvironmentVariable("ACTORLAB_SHARED");
        string? root = !string.IsNullOrEmpty(env) ? env : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); root == null && dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ActorLab.sln"))) root = Path.Combine(dir.FullName, "..", "shared");
        var lists = Path.Combine(root ?? "", "data", "reference-lists");
        Skip.IfNot(Directory.Exists(lists), "../shared/data/reference-lists is absent; set ACTORLAB_SHARED to run this test.");
        return Path.GetFullPath(lists);
    }

    [SkippableFact]
    public void A_measure_block_and_the_reference_lists_reach_the_measure_job()
    {
        var lists = ReferenceLists();
        var text = TestSweeps.Tiny.TrimEnd().TrimEnd('}') + $$"""
              lists-dir = "{{lists}}"
              measure {
                schemes = [optimal, 2-hop-double]
                selection-schemes = [enumerate]
                subjectwise = true
                hops = [2, 2.1]
              }
            }
            """;
        var def = SweepFile.Parse(text, "m.conf");
        Assert.Equal([CapacityScheme.Optimal, CapacityScheme.TwoHopDouble], def.Measure.Schemes.ToArray());
        Assert.Equal([SelectionScheme.Enumerate], def.Measure.SelectionSchemes.ToArray());
        Assert.True(def.Measure.Subjectwise);
        Assert.Equal([2, 2.1], def.Measure.Hops.ToArray());
        Assert.Equal(lists, def.ListsDir);

        // Journalled with the sweep and handed to its measure job.
        var plan = SweepPlanner.Plan(def);
        Assert.Equal(def.Measure, plan.Measure);
        var s = SweepState.Empty.ApplyAll(SweepState.Empty.Decide(new SubmitSweep(plan)).Events);
        var spec = s.MeasureSpec("tiny");
        Assert.Equal(def.Measure, spec.Measure);
        Assert.All(spec.Datasets, d => Assert.Equal(lists, d.Config.ListsDir));

        // The measure job's options: one per scheme x selection scheme; entropies estimated from the reference's
        // list sizes (223 cities, 100 universities, 73 employers, 5163 first and 88799 last names), as the reference.
        // convergence judged by the sweep's own rule, not the reference's 1e6-step floor
        var options = PipelineBackend.MeasureOptionsOf("/results", ["/profiles"], spec.Datasets, spec.Measure!, new ConvergenceSettings(false, 5000, 1e-6));
        Assert.All(options, o => Assert.Equal((5000.0, 1e-6), (o.Convergence.MinStep, o.Convergence.Threshold)));
        Assert.Equal([(CapacityScheme.Optimal, SelectionScheme.Enumerate), (CapacityScheme.TwoHopDouble, SelectionScheme.Enumerate)],
            options.Select(o => (o.Scheme, o.Selection)));
        Assert.All(options, o => Assert.True(o.Subjectwise));
        Assert.All(options, o => Assert.Equal(ValueListSizes.Reference, o.Lists));
        Assert.All(options, o => Assert.Equal(["/profiles"], o.ProfilesDirs));
    }

    [Fact]
    public void Without_a_measure_block_a_sweep_measures_as_before_and_keeps_its_content_hash()
    {
        var plan = TestSweeps.Plan();
        Assert.True(plan.Measure.IsDefault);
        var s = SweepState.Empty.ApplyAll(SweepState.Empty.Decide(new SubmitSweep(plan)).Events);
        Assert.Null(s.MeasureSpec("tiny").Measure); // the job worker reads null as the default
        var options = PipelineBackend.MeasureOptionsOf("/results", [], s.MeasureSpec("tiny").Datasets, SweepMeasure.Default, new ConvergenceSettings());
        var o = Assert.Single(options);
        Assert.Equal(ConvergenceConfig.Default, o.Convergence);
        Assert.Equal((CapacityScheme.Optimal, SelectionScheme.Optimal, false), (o.Scheme, o.Selection, o.Subjectwise));
        // an explicit default block is the same sweep; any other setting is a different one
        var explicitDefault = TestSweeps.Tiny.TrimEnd().TrimEnd('}') + "\n  measure {\n    schemes = [optimal]\n    hops = []\n  }\n}\n";
        Assert.Equal(plan.ContentHash, TestSweeps.Plan(explicitDefault).ContentHash);
        Assert.NotEqual(plan.ContentHash, TestSweeps.Plan(explicitDefault.Replace("hops = []", "hops = [1]")).ContentHash);
    }

    /// <summary>Subject-wise evals (4 + R times the cost) follow the measure block unless the sweep says otherwise.</summary>
    [Fact]
    public void Subjectwise_evals_follow_the_measure_block_and_off_with_a_subjectwise_measure_is_refused()
    {
        string With(string block) => TestSweeps.Tiny.TrimEnd().TrimEnd('}') + "\n  " + block + "\n}\n";
        Assert.All(TestSweeps.Plan().Runs, r => Assert.False(r.SubjectwiseEvals));
        Assert.All(TestSweeps.Plan(With("measure.subjectwise = true")).Runs, r => Assert.True(r.SubjectwiseEvals));
        Assert.All(TestSweeps.Plan(With("eval.subjectwise = on")).Runs, r => Assert.True(r.SubjectwiseEvals));
        Assert.Contains("sweep.eval.subjectwise: off, but measure.subjectwise needs", Rejects(With("measure.subjectwise = true\n  eval.subjectwise = off")).Message);
        Assert.Contains("sweep.eval.subjectwise", Rejects(With("eval.subjectwise = sometimes")).Message);
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
        Assert.Equal(["coordinator", "trainer"], c.GetStringList("actorlab.node.roles"));
        Assert.Equal("sqlite", c.GetString("actorlab.journal.provider"));
        Assert.Equal("keep-majority", c.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.True(c.GetInt("actorlab.coordinator.snapshot-every") > 0);
    }

    [Fact]
    public void The_journal_is_sqlite_in_the_data_dir_or_postgresql_from_the_environment_never_from_hocon()
    {
        using var dir = new TempDir();
        var sqlite = ActorLabConfig.Build(dir.Path);
        Assert.Equal("SQLite.MS", sqlite.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal($"Data Source={Path.Combine(dir.Path, "journal.db")}", sqlite.GetString("akka.persistence.snapshot-store.sql.connection-string"));

        const string pg = "actorlab.journal { provider = postgresql, connection-string-env = ACTORLAB_TEST_NO_SUCH_VAR }";
        var missing = Assert.Throws<UserInputException>(() => ActorLabConfig.Build(dir.Path, extraHocon: pg));
        Assert.Contains("$ACTORLAB_TEST_NO_SUCH_VAR", missing.Message);

        var file = Path.Combine(dir.Path, "cs");
        File.WriteAllText(file, "Host=db.lab;Port=5433;Database=sweeps;Username=u;Password=\"quoted\"\n");
        var fromFile = ActorLabConfig.Build(dir.Path, extraHocon: $"actorlab.journal {{ provider = postgresql, connection-string-file = {HoconText.Quote(file)} }}");
        Assert.Equal("PostgreSQL.15", fromFile.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal("Host=db.lab;Port=5433;Database=sweeps;Username=u;Password=\"quoted\"", fromFile.GetString("akka.persistence.journal.sql.connection-string"));
        Assert.Equal("PostgreSQL db.lab:5433/sweeps", JournalSettings.From(fromFile).Description);

        File.WriteAllText(file, "Host=db;Bogus Key=1");
        Assert.Contains("connection string is not valid", Assert.Throws<UserInputException>(() =>
            ActorLabConfig.Build(dir.Path, extraHocon: $"actorlab.journal {{ provider = postgresql, connection-string-file = {HoconText.Quote(file)} }}")).Message);
        Assert.Contains("'mysql' is not sqlite or postgresql", Assert.Throws<UserInputException>(() =>
            ActorLabConfig.Build(dir.Path, extraHocon: "actorlab.journal.provider = mysql")).Message);
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
