using System.Globalization;
using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Training;

namespace ActorLab.Model.Tests.Capacity;

/// <summary>`measure` end to end on a small results tree built by hand, with the hand-worked dataset of <see cref="CapacityTestData"/>.</summary>
public class CapacityMeasurementTests
{
    static readonly double Ln2 = Math.Log(2);
    static string Nats(double bits) => (bits * Ln2).ToString("R", CultureInfo.InvariantCulture);

    // Profiles "files" here are markers read by a fake reader, so these tests exercise measure, not parquet I/O
    // (the CLI tests read real parquet files).
    const string Marker = "hand-made database";

    static string WriteProfiles(string dir, string name)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, Marker);
        return path;
    }

    static ProfileDatabase ReadMarker(string path) =>
        File.ReadAllText(path) == Marker ? CapacityTestData.Database() : throw new InvalidDataException(path);

    static void WriteConfig(string runDir, string profiles, int n = CapacityTestData.N, long nParams = 1000) =>
        new RunConfig
        {
            RunName = Path.GetFileName(runDir), Profiles = profiles, Tokenizer = "tok.json", NProfiles = n, Relations = 2,
            NParams = nParams, ParamBudget = nParams, Layers = 2, MinOrder = 1, MaxOrder = 2,
        }.Save(runDir);

    /// <summary>Two steps; at step 1000 the 1-hop mean loss is 1 bit and the 2-hop mean loss 7/6 bits.</summary>
    static string OverallCsv(bool withIndex) =>
        (withIndex ? ",parameter_l2,mode,loss,global_step\n" : "loss,global_step,mode,parameter_l2\n") +
        string.Concat(new[]
        {
            ("train_onehop", 100L, 3.0), ("train_twohop", 100L, 3.0), ("eval_relations", 100L, 4.0),
            ("train_onehop", 1000L, 1.0), ("train_twohop", 1000L, 7.0 / 6), ("eval_relations", 1000L, 3.0),
        }.Select((r, i) => withIndex
            ? $"{i},0.5,{r.Item1},{Nats(r.Item3)},{r.Item2}\n"
            : $"{Nats(r.Item3)},{r.Item2},{r.Item1},0.5\n"));

    static (string Root, string ProfilesDir) BuildTree()
    {
        var root = CapacityTestData.TempDir();
        var results = Directory.CreateDirectory(Path.Combine(root, "results")).FullName;
        var profilesDir = Directory.CreateDirectory(Path.Combine(root, "profiles")).FullName;
        var profiles = WriteProfiles(profilesDir, "profiles_dataset_8_uniform_r2.parquet");

        // An ActorLab run with run.json.
        var a = Directory.CreateDirectory(Path.Combine(results, "run_a")).FullName;
        WriteConfig(a, profiles);
        File.WriteAllText(Path.Combine(a, "eval_results.csv"), OverallCsv(withIndex: false));

        // A reference run (no run.json, pandas index column), found through --profiles-dir, under a commit folder.
        var b = Directory.CreateDirectory(Path.Combine(results, "abc123", "mup_n8_p2000_omin1_omax2_wd0.1_l4_lr0.001_beta10.99_sf_r2")).FullName;
        File.WriteAllText(Path.Combine(b, "eval_results.csv"), OverallCsv(withIndex: true));

        // Bad runs: unparsable name without config; malformed CSV; profiles that do not match N.
        var c = Directory.CreateDirectory(Path.Combine(results, "weird_run")).FullName;
        File.WriteAllText(Path.Combine(c, "eval_results.csv"), OverallCsv(false));
        var d = Directory.CreateDirectory(Path.Combine(results, "run_d")).FullName;
        WriteConfig(d, profiles);
        File.WriteAllText(Path.Combine(d, "eval_results.csv"), "loss,global_step,mode\noops,100,train_onehop\n");
        var e = Directory.CreateDirectory(Path.Combine(results, "run_e")).FullName;
        WriteConfig(e, profiles, n: 10);
        File.WriteAllText(Path.Combine(e, "eval_results.csv"), OverallCsv(false));
        return (results, profilesDir);
    }

    static MeasureOptions Options(string results, string profilesDir, SelectionScheme sel = SelectionScheme.Optimal) => new()
    {
        ResultsDir = results,
        Selection = sel,
        ProfilesDirs = [profilesDir],
        LoadProfiles = ReadMarker,
        MaxParallelism = 2,
    };

    [Fact]
    public void Measures_good_runs_and_skips_bad_ones_with_reasons()
    {
        var (results, profilesDir) = BuildTree();
        var report = CapacityMeasurement.Measure(Options(results, profilesDir));

        Assert.Equal(2, report.Runs.Count);
        Assert.Equal(3, report.Skipped.Count);
        Assert.Contains(report.Skipped, s => s.Reason.Contains("'weird_run' is not a reference run name"));
        Assert.Contains(report.Skipped, s => s.Reason.Contains("loss 'oops' is not a number"));
        Assert.Contains(report.Skipped, s => s.Reason.Contains("has 8 profiles, the run says N = 10"));

        double s = CapacityTestData.NameSelection(SelectionScheme.Optimal) + CapacityTestData.DateSelection(SelectionScheme.Optimal);
        foreach (var run in report.Runs)
        {
            var rows = report.AllSteps.Where(r => r.Run.Dir == run.Info.Dir && r.Step == 1000).ToDictionary(r => r.Hops);
            Assert.Equal(3, rows.Count);
            // Averaged form (hand-worked in CapacityCalculatorTests): 1-hop at 1 bit: 40 + S; 2-hop at 7/6: 32 + S;
            // 2.1: incremental 40 + 32 + S.
            Assert.Equal(40 + s, rows[1].Capacity, 6);
            Assert.Equal(32 + s, rows[2].Capacity, 6);
            Assert.Equal(72 + s, rows[2.1].Capacity, 6);
            Assert.All(rows.Values, r => Assert.Equal(s, r.BaselineCapacity, 6));
            Assert.Equal(88 + s, rows[1].DatasetEntropy, 6);
            Assert.Equal(88 + s, rows[2].DatasetEntropy, 6);
            Assert.Equal(88 + 88 + s, rows[2.1].DatasetEntropy, 6);
            Assert.All(rows.Values, r => Assert.Equal(0.5, r.ParameterNorm));
            // At step 100 every loss (3 bits) is above the mean entropy 11/6: S - (18 - 11) 8, 2.1 adds an incremental 0.
            var early = report.AllSteps.Where(r => r.Run.Dir == run.Info.Dir && r.Step == 100).ToDictionary(r => r.Hops);
            Assert.Equal(s - 56, early[1].Capacity, 6);
            Assert.Equal(s - 56, early[2.1].Capacity, 6);
        }
        Assert.Equal(6, report.Final.Count);
        Assert.All(report.Final, r => Assert.Equal(1000, r.Step));
        Assert.All(report.Convergence, c => Assert.False(c.Result.Converged));
    }

    [Fact]
    public void Reference_formulas_change_only_the_2_1_hop_rows()
    {
        var (results, profilesDir) = BuildTree();
        var report = CapacityMeasurement.Measure(Options(results, profilesDir) with { Formulas = CapacityFormulas.Reference });
        double s = CapacityTestData.NameSelection(SelectionScheme.Optimal) + CapacityTestData.DateSelection(SelectionScheme.Optimal);
        var rows = report.AllSteps.Where(r => r.Run.Name == "run_a" && r.Step == 1000).ToDictionary(r => r.Hops);
        // As in the averaged test above, but the reference's 1-hop part of 2.1 keeps S (40 + S + 32 + S) and its
        // entropy is that 1-hop part at zero loss alone (88 + S).
        Assert.Equal(40 + s, rows[1].Capacity, 6);
        Assert.Equal(32 + s, rows[2].Capacity, 6);
        Assert.Equal(88 + s, rows[2].DatasetEntropy, 6);
        Assert.Equal(72 + 2 * s, rows[2.1].Capacity, 6);
        Assert.Equal(88 + s, rows[2.1].DatasetEntropy, 6);
        var early = report.AllSteps.Single(r => r.Run.Name == "run_a" && r.Step == 100 && r.Hops == 2.1);
        Assert.Equal(2 * (s - 56), early.Capacity, 6);
    }

    [Fact]
    public void Filters_keep_only_matching_runs_before_reading_their_evals()
    {
        var (results, profilesDir) = BuildTree();
        // Layers 4: only the reference run (l4); run_a, run_d and run_e have 2 layers and are not read at all
        // (run_d's malformed CSV is not reported); weird_run has no config to filter on, so it is still skipped.
        var byLayers = CapacityMeasurement.Measure(Options(results, profilesDir) with { Filter = new RunFilter { Layers = [4] } });
        Assert.Equal(["mup_n8_p2000_omin1_omax2_wd0.1_l4_lr0.001_beta10.99_sf_r2"], byLayers.Runs.Select(r => r.Info.Name));
        Assert.Equal(3, byLayers.FilteredOut);
        Assert.Contains(byLayers.Skipped, x => x.Reason.Contains("'weird_run' is not a reference run name"));
        Assert.DoesNotContain(byLayers.Skipped, x => x.Reason.Contains("oops"));

        var byParams = CapacityMeasurement.Measure(Options(results, profilesDir) with
        {
            Filter = new RunFilter { NParams = [1000], NProfiles = [8], MinTrainHops = [1], MaxTrainHops = [2], WeightDecay = [1e-1] },
        });
        Assert.Equal(["run_a"], byParams.Runs.Select(r => r.Info.Name));
        Assert.Equal(2, byParams.FilteredOut); // the reference run (p2000) and run_e (N = 10)
        var none = CapacityMeasurement.Measure(Options(results, profilesDir) with { Filter = new RunFilter { WeightDecay = [0.2] } });
        Assert.Empty(none.Runs);
        Assert.Equal(4, none.FilteredOut);
        Assert.Equal("--weight-decay 0.2", none.Options.Filter.ToString());
    }

    /// <summary>Capacity goes to TensorBoard beside the curves: every measured row read back from the event file; a new measurement replaces it.</summary>
    [Fact]
    public void Capacity_is_written_to_tensorboard_per_run_and_replaced_by_a_new_measurement()
    {
        var (results, profilesDir) = BuildTree();
        var report = CapacityMeasurement.Measure(Options(results, profilesDir, SelectionScheme.Enumerate));
        var outDir = CapacityTestData.TempDir();
        string DirOf(RunInfo r) => Path.Combine(outDir, r.Name);
        CapacityTensorBoard.Write(report, DirOf);
        CapacityTensorBoard.Write(report, DirOf);
        foreach (var run in report.AllSteps.GroupBy(r => r.Run.Name))
        {
            Assert.Single(Directory.GetFiles(DirOf(run.First().Run)));
            var scalars = ActorLab.Model.Tests.Training.TensorBoardEvents.Read(DirOf(run.First().Run));
            foreach (var r in run)
            {
                var hops = r.Hops.ToString("0.#", CultureInfo.InvariantCulture);
                var bits = Assert.Single(scalars, x => x.Tag == $"capacity_optimal_enumerate/hops{hops}_bits" && x.Step == r.Step);
                Assert.Equal((float)r.Capacity, bits.Value);
                Assert.Contains(scalars, x => x.Tag == $"capacity_optimal_enumerate/hops{hops}_bits_per_param" && x.Step == r.Step && x.Value == (float)r.BitsPerParam);
            }
        }
    }

    [Fact]
    public void Tables_have_the_reference_columns()
    {
        var (results, profilesDir) = BuildTree();
        var report = CapacityMeasurement.Measure(Options(results, profilesDir, SelectionScheme.Enumerate));
        var outDir = CapacityTestData.TempDir();
        var files = CapacityTables.Write(outDir, report);
        Assert.Equal(["capacity_all_steps_optimal_enumerate.csv", "capacity_final_optimal_enumerate.csv", "loss_derivatives.csv", "never_converged.csv"],
            files.Select(Path.GetFileName));
        var all = File.ReadAllLines(files[0]);
        Assert.Equal("n_params,N_profiles,layers,relations,min_train_hops,max_train_hops,hops,weight_decay,global_step,parameter_norm,capacity,baseline_capacity,dataset_entropy,run", all[0]);
        Assert.Equal(1 + 2 * 2 * 3, all.Length);
        var row = all.Select(l => l.Split(',')).Single(f => f[^1] == "run_a" && f[6] == "2.1" && f[8] == "1000");
        double s = CapacityTestData.NameSelection(SelectionScheme.Enumerate) + CapacityTestData.DateSelection(SelectionScheme.Enumerate);
        Assert.Equal(["1000", "8", "2", "2", "1", "2", "2.1", "0.1", "1000", "0.5"], row[..10]);
        Assert.Equal(72 + s, double.Parse(row[10], CultureInfo.InvariantCulture), 6);
        var final = File.ReadAllLines(files[1]);
        Assert.EndsWith(",dataset_entropy,total_capacity,bits_per_param,fraction_of_entropy,run,converged,convergence", final[0]);
        Assert.Equal(7, final.Length);
        // run_a at 2.1 hops: 72 + S bits, n_params 1000, entropy 88 + 88 + S.
        var f21 = final.Select(ResultsReader.SplitCsv).Single(f => f[^3] == "run_a" && f[6] == "2.1");
        // converged, then why not (the rule's reason)
        Assert.Equal("false", f21[^2]);
        Assert.Contains("eval points after step 1000000, the rule needs 15", f21[^1]);
        double[] ratios = f21[13..16].Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal([72 + s, (72 + s) / 1000, (72 + s) / (176 + s)], ratios, new ToleranceComparer(1e-6));
        var never = File.ReadAllLines(files[3]);
        Assert.Equal(3, never.Length);
        Assert.Contains(never, l => l.Contains("train_onehop has 0 eval points after step 1000000"));
    }

    [Fact]
    public void Subject_wise_rows_carry_per_subject_capacities()
    {
        var root = CapacityTestData.TempDir();
        var profiles = WriteProfiles(root, "p.parquet");
        var run = Directory.CreateDirectory(Path.Combine(root, "results", "run_s")).FullName;
        WriteConfig(run, profiles);
        string[] subjects = ["birth_date", "birth_city", "university", "employer", "parent", "child"];
        double[] oneHop = [1, 0.5, 2, 0, 1, 3];
        double[] twoHop = [2, 1, 1, 1, 1, 1];
        var lines = new List<string> { "loss,global_step,mode,parameter_l2,subject" };
        for (int a = 0; a < 6; a++)
        {
            lines.Add($"{Nats(oneHop[a])},500,train_onehop,0.25,{subjects[a]}");
            lines.Add($"{Nats(twoHop[a])},500,train_twohop,0.25,{subjects[a]}");
        }
        lines.Add($"{Nats(1)},600,train_onehop,0.25,birth_date"); // a step with one subject: measured over that subject
        File.WriteAllLines(Path.Combine(run, "eval_results_full.csv"), lines);

        var report = CapacityMeasurement.Measure(new MeasureOptions
        {
            ResultsDir = Path.Combine(root, "results"), Subjectwise = true, LoadProfiles = ReadMarker,
        });
        Assert.Single(report.Runs);
        Assert.Empty(report.Warnings);
        // Step 600 has only a 1-hop birth_date loss of 1 bit: (3 - 1) 8 + Sd, entropy 3*8 + Sd.
        var lone = Assert.Single(report.AllSteps, r => r.Step == 600);
        Assert.Equal(1, lone.Hops);
        Assert.Equal(16 + CapacityTestData.DateSelection8(), lone.Capacity, 6);
        Assert.Equal(24 + CapacityTestData.DateSelection8(), lone.DatasetEntropy, 6);
        var rows = report.AllSteps.Where(r => r.Step == 500).ToDictionary(r => r.Hops);
        Assert.Equal(3, rows.Count);
        double sn = 24, sd = CapacityTestData.DateSelection8();
        Assert.Equal([16 + sd, 12, -8, 8, 8 + sn / 2, (sn - 8) / 2], rows[1].SubjectCapacities!.ToArray(), new ToleranceComparer(1e-6));
        Assert.Equal([24 + sd, 20, -8, 8, 16 + sn / 2, 8 + sn / 2], rows[2.1].SubjectCapacities!.ToArray(), new ToleranceComparer(1e-6));
        Assert.Equal(68 + sd + sn, rows[2.1].Capacity, 6);

        var outDir = CapacityTestData.TempDir();
        var files = CapacityTables.Write(outDir, report);
        var header = File.ReadLines(files[0]).First();
        Assert.Contains("dataset_entropy,birth_date_capacity,birth_city_capacity,university_capacity,employer_capacity,parent_capacity,child_capacity,run", header);
    }

    [Fact]
    public void A_subject_missing_from_train_twohop_still_gives_hops_2_and_2_1_rows()
    {
        // The reference's headline setup (--subjectwise --scheme 2-hop-double): a held-out second attribute
        // (university) never appears in train_twohop. Hand-worked in CapacityCalculatorTests.
        var root = CapacityTestData.TempDir();
        var profiles = WriteProfiles(root, "p.parquet");
        var run = Directory.CreateDirectory(Path.Combine(root, "results", "run_h")).FullName;
        WriteConfig(run, profiles);
        string[] subjects = ["birth_date", "birth_city", "university", "employer", "parent", "child"];
        double[] oneHop = [1, 0.5, 2, 0, 1, 3];
        double[] twoHop = [0, 0, double.NaN, 5, 0, 0];
        var lines = new List<string> { "loss,global_step,mode,parameter_l2,subject" };
        for (int a = 0; a < 6; a++)
        {
            lines.Add($"{Nats(oneHop[a])},500,train_onehop,0.25,{subjects[a]}");
            if (!double.IsNaN(twoHop[a])) lines.Add($"{Nats(twoHop[a])},500,train_twohop,0.25,{subjects[a]}");
        }
        File.WriteAllLines(Path.Combine(run, "eval_results_full.csv"), lines);

        var report = CapacityMeasurement.Measure(new MeasureOptions
        {
            ResultsDir = Path.Combine(root, "results"), Subjectwise = true, Scheme = CapacityScheme.TwoHopDouble, LoadProfiles = ReadMarker,
        });
        var rows = report.AllSteps.ToDictionary(r => r.Hops);
        Assert.Equal([1, 2, 2.1], rows.Keys.Order());
        double sn = 24, sd = CapacityTestData.DateSelection8();
        Assert.Equal(104 + sd + sn, rows[2].Capacity, 6);
        Assert.Equal(112 + sd + sn, rows[2].DatasetEntropy, 6);
        Assert.True(double.IsNaN(rows[2].SubjectCapacities![2]));
        Assert.Equal(36 + 104 + sd + sn, rows[2.1].Capacity, 6);
        Assert.Equal(88 + 112 + sd + sn, rows[2.1].DatasetEntropy, 6);
        Assert.Equal([2, 2.1], report.Final.Select(r => r.Hops).Where(h => h > 1).Order());

        // The table leaves the missing subject's cell empty.
        var files = CapacityTables.Write(CapacityTestData.TempDir(), report);
        var header = File.ReadLines(files[0]).First().Split(',');
        var two = File.ReadLines(files[0]).Skip(1).Select(l => l.Split(',')).Single(f => f[6] == "2");
        Assert.Equal("", two[Array.IndexOf(header, "university_capacity")]);
    }

    [Fact]
    public void Two_hop_double_without_subject_losses_and_empty_results_are_refused()
    {
        var (results, profilesDir) = BuildTree();
        var e = Assert.Throws<UserInputException>(() => CapacityMeasurement.Measure(Options(results, profilesDir) with { Scheme = CapacityScheme.TwoHopDouble }));
        Assert.Contains("--subjectwise", e.Message);
        var empty = CapacityTestData.TempDir();
        Assert.Contains("No runs under", Assert.Throws<UserInputException>(() => CapacityMeasurement.Measure(new MeasureOptions { ResultsDir = empty })).Message);
    }

    [Fact]
    public void An_unreadable_profiles_file_skips_only_its_runs()
    {
        var (results, profilesDir) = BuildTree();
        File.WriteAllText(Path.Combine(profilesDir, "profiles_dataset_8_uniform_r2.parquet"), "corrupt");
        var report = CapacityMeasurement.Measure(Options(results, profilesDir));
        // run_a, run_e and the reference run read the corrupt file: each is skipped with the reader's message;
        // run_d and weird_run keep their own reasons.
        Assert.Empty(report.Runs);
        Assert.Equal(5, report.Skipped.Count);
        Assert.Equal(3, report.Skipped.Count(s => s.Reason.Contains("profiles_dataset_8_uniform_r2.parquet")));
        Assert.Contains(report.Skipped, s => s.Reason.Contains("loss 'oops' is not a number"));
    }

    [Fact]
    public void Missing_profiles_fall_back_to_estimated_entropies_with_a_warning()
    {
        var (results, _) = BuildTree();
        var report = CapacityMeasurement.Measure(new MeasureOptions { ResultsDir = results, LoadProfiles = ReadMarker });
        // The reference run has no profiles dir now: estimated, with one warning naming N and R.
        Assert.Contains(report.Runs, r => !r.Info.FromConfig);
        Assert.Contains(report.Warnings, w => w.Contains("N=8, R=2: no profiles file found"));
    }
}
