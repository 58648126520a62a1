using ActorLab.Host.Tests.Infrastructure;
using System.Globalization;
using System.Text.Json;
using ActorLab.Model.Capacity;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Host.Tests.Capacity;

/// <summary>`actorlab entropy | solve-n | measure` as a user runs them: real process, real parquet files.</summary>
public class CapacityCommandsTests
{
    /// <summary>
    /// N = 8, R = 2 with round entropies: H = [3, 2, 1, 1, 2, 2]; names 2 x 4 x 8 (log2 M = 6); 8 distinct birth dates.
    /// </summary>
    static ProfileDatabase HandDatabase()
    {
        string[] firstPool = ["Ann", "Bob"], middlePool = ["Cy", "Di", "Ed", "Fay"];
        string[] lastPool = ["Gray", "Hill", "Ives", "Jones", "King", "Lee", "Moss", "Nash"];
        var names = Enumerable.Range(0, 8).Select(i => $"{firstPool[i % 2]} {middlePool[i % 4]} {lastPool[i]}").ToArray();
        return new ProfileDatabase(names,
            new InternedColumn(firstPool, Enumerable.Range(0, 8).Select(i => i % 2).ToArray()),
            new InternedColumn(middlePool, Enumerable.Range(0, 8).Select(i => i % 4).ToArray()),
            new InternedColumn(lastPool, Enumerable.Range(0, 8).ToArray()),
            [0, 1, 2, 3, 400, 5000, 60000, 73000],
            new InternedColumn(["A", "B", "C", "D"], [0, 1, 2, 3, 0, 1, 2, 3]),
            new InternedColumn(["U1", "U2"], [0, 1, 0, 1, 0, 1, 0, 1]),
            new InternedColumn(["E1", "E2"], [1, 1, 1, 1, 0, 0, 0, 0]),
            [[0, 1, 2, 3, 0, 1, 2, 3], [4, 5, 6, 7, 7, 6, 5, 4]]);
    }

    static double DateSelection8()
    {
        double sum = 0;
        for (int i = 1; i <= 8; i++) sum += Math.Log2((73048.0 - 8 + i) / i);
        return sum;
    }

    static string WriteHandProfiles(string dir)
    {
        var path = Path.Combine(dir, "profiles_dataset_8_uniform_r2.parquet");
        ProfileParquet.Write(HandDatabase(), path);
        return path;
    }

    [Fact]
    public void Entropy_json_has_exactly_the_documented_keys_and_hand_values()
    {
        var dir = ActorLabCli.TempDir();
        var profiles = WriteHandProfiles(dir);
        var r = ActorLabCli.Run("entropy", "--profiles", profiles, "--scheme", "2-hop-big-hash", "--selection-scheme", "enumerate", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal(
            ["N", "relations", "scheme", "selection_scheme", "entropies", "name_selection_entropy", "birth_date_selection_entropy", "dataset_entropy_1hop", "dataset_entropy_2hop"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(8, root.GetProperty("N").GetInt32());
        Assert.Equal(2, root.GetProperty("relations").GetInt32());
        Assert.Equal("2-hop-big-hash", root.GetProperty("scheme").GetString());
        Assert.Equal("enumerate", root.GetProperty("selection_scheme").GetString());
        var h = root.GetProperty("entropies").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(["birth_date", "birth_city", "university", "employer", "parent", "child"], h.Keys);
        Assert.Equal([3.0, 2, 1, 1, 2, 2], h.Values.Select(v => Math.Round(v, 12)));
        double sn = 48, sd = DateSelection8();
        Assert.Equal(sn, root.GetProperty("name_selection_entropy").GetDouble(), 9);
        Assert.Equal(sd, root.GetProperty("birth_date_selection_entropy").GetDouble(), 6);
        // 1-hop: sum H N + Sn + Sd = 11*8 + ...; 2-hop big hash, incremental: R * 88.
        Assert.Equal(88 + sn + sd, root.GetProperty("dataset_entropy_1hop").GetDouble(), 6);
        Assert.Equal(176, root.GetProperty("dataset_entropy_2hop").GetDouble(), 6);

        var text = ActorLabCli.Run("entropy", "--profiles", profiles);
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("dataset entropy, 1-hop", text.Stdout);
    }

    [Theory]
    [InlineData("--scheme", "2-hop-huge", "Unknown scheme '2-hop-huge'")]
    [InlineData("--selection-scheme", "best", "Unknown selection scheme 'best'")]
    public void Unknown_schemes_are_one_clear_error(string flag, string value, string message)
    {
        var profiles = WriteHandProfiles(ActorLabCli.TempDir());
        var r = ActorLabCli.Run("entropy", "--profiles", profiles, flag, value);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"error: {message}", r.Stderr.Trim());
    }

    [Fact]
    public void Missing_profiles_file_is_one_clear_error()
    {
        var r = ActorLabCli.Run("entropy", "--profiles", "/nonexistent/profiles.parquet");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("error: Profiles file '/nonexistent/profiles.parquet' does not exist.", r.Stderr.Trim());
    }

    [Fact]
    public void Solve_n_finds_and_checks_N()
    {
        var r = ActorLabCli.Run("solve-n", "--target-bits", "1500000", "--relations", "4", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        int n = doc.RootElement.GetProperty("n").GetInt32();
        double generated = doc.RootElement.GetProperty("dataset_entropy_1hop").GetDouble();
        Assert.InRange(generated / 1.5e6, 0.99, 1.01);
        Assert.Equal(NSolver.Solve(1.5e6, 4, ValueListSizes.Of(ValueLists.Default), SelectionScheme.Optimal).N, n);

        var bad = ActorLabCli.Run("solve-n", "--target-bits", "-5", "--relations", "4");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--target-bits must be a positive number", bad.Stderr);
    }

    static void WriteRun(string results, string name, ProfileDatabase? _, string? profiles, int n, string csv)
    {
        var dir = Directory.CreateDirectory(Path.Combine(results, name)).FullName;
        if (profiles != null)
            new RunConfig
            {
                RunName = name, Profiles = profiles, Tokenizer = "t.json", NProfiles = n, Relations = 2, NParams = 5000,
                ParamBudget = 5000, Layers = 2, MinOrder = 1, MaxOrder = 2,
            }.Save(dir);
        File.WriteAllText(Path.Combine(dir, "eval_results.csv"), csv);
    }

    static string Csv()
    {
        var lines = new List<string> { "loss,global_step,mode,parameter_l2" };
        foreach (var step in new[] { 100, 1000, 10000 })
            foreach (var mode in EvalModes.All)
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"{(mode == EvalMode.TrainOnehop ? 0.5 : 1.0) * 1000.0 / step},{step},{mode.Name()},0.1"));
        return string.Join('\n', lines) + "\n";
    }

    [Fact]
    public void Measure_writes_tables_and_plots_and_skips_bad_runs()
    {
        var root = ActorLabCli.TempDir();
        var profiles = WriteHandProfiles(root);
        var results = Directory.CreateDirectory(Path.Combine(root, "results")).FullName;
        WriteRun(results, "good", null, profiles, 8, Csv());
        WriteRun(results, "mismatched", null, profiles, 9, Csv());
        WriteRun(results, "no_config_here", null, null, 8, Csv());
        // the good run's training log: its loss curve is plotted beside the generalisation gap
        File.WriteAllLines(Path.Combine(results, "good", "progress.csv"),
            [ActorLab.Model.Training.ProgressCsv.Header, .. Enumerable.Range(1, 50).Select(i => string.Create(CultureInfo.InvariantCulture, $",step,{i * 200},{6.0 / i},0.001,1000,t"))]);
        var outDir = Path.Combine(root, "out");

        var r = ActorLabCli.Run("measure", "--results", results, "--out", outDir, "--selection-scheme", "independent");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("has 8 profiles, the run says N = 9", r.Stderr);
        Assert.Contains("'no_config_here' is not a reference run name", r.Stderr);
        Assert.Contains("measured 1 run(s) (2 skipped)", r.Stdout);
        var all = File.ReadAllLines(Path.Combine(outDir, "capacity_all_steps_optimal_independent.csv"));
        Assert.Equal(1 + 3 * 3, all.Length);
        // Step 10000, 1-hop: mean loss 0.05 nats = 0.0721 bits, independent selection: (11 - 6 l) 8.
        var oneHop = all.Select(l => l.Split(',')).Single(f => f[6] == "1" && f[8] == "10000");
        double l = 0.05 / Math.Log(2);
        Assert.Equal((11 - 6 * l) * 8, double.Parse(oneHop[10], CultureInfo.InvariantCulture), 6);
        foreach (var f in new[] { "capacity_final_optimal_independent.csv", "loss_derivatives.csv", "never_converged.csv",
                     "capacity_vs_params_optimal_independent_hops2.png", "capacity_vs_N_optimal_independent_hops2.svg",
                     "capacity_vs_step_optimal_independent_hops2.png", "loss_derivatives.png", "runs/good_generalisation_gap.png", "runs/good_loss_curve.png", "runs/good_loss_curve.svg" })
            Assert.True(new FileInfo(Path.Combine(outDir, f)).Length > 0, f);
    }

    [Fact]
    public void Measure_filters_runs_and_takes_the_reference_formulas()
    {
        var root = ActorLabCli.TempDir();
        var profiles = WriteHandProfiles(root);
        var results = Directory.CreateDirectory(Path.Combine(root, "results")).FullName;
        WriteRun(results, "good", null, profiles, 8, Csv());
        var outDir = Path.Combine(root, "out");
        double s = 24 + DateSelection8();

        var r = ActorLabCli.Run("measure", "--results", results, "--out", outDir, "--formulas", "reference", "--layers", "2", "4",
            "--weight-decay", "0.1", "--n-profiles", "8");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var final = File.ReadAllLines(Path.Combine(outDir, "capacity_final_optimal_optimal.csv"));
        var header = final[0].Split(',');
        Assert.Contains("total_capacity,bits_per_param,fraction_of_entropy,run,converged", final[0]);
        var f21 = final.Skip(1).Select(l => l.Split(',')).Single(f => f[6] == "2.1");
        // The reference's 2.1-hop entropy: its 1-hop part alone at zero loss, averaged form: 11*8 + S.
        Assert.Equal(88 + s, double.Parse(f21[Array.IndexOf(header, "dataset_entropy")], CultureInfo.InvariantCulture), 6);
        double cap = double.Parse(f21[Array.IndexOf(header, "capacity")], CultureInfo.InvariantCulture);
        Assert.Equal(cap / 5000, double.Parse(f21[Array.IndexOf(header, "bits_per_param")], CultureInfo.InvariantCulture), 9);
        // the summary it prints is the CSV's: every row's capacity, bits per parameter and convergence, as written
        Assert.Contains("bits / parameter", r.Stdout);
        foreach (var row in final.Skip(1).Select(l => l.Split(',')))
        {
            Assert.Contains(double.Parse(row[Array.IndexOf(header, "capacity")], CultureInfo.InvariantCulture).ToString("F0", CultureInfo.InvariantCulture), r.Stdout);
            Assert.Contains(double.Parse(row[Array.IndexOf(header, "bits_per_param")], CultureInfo.InvariantCulture).ToString("F3", CultureInfo.InvariantCulture), r.Stdout);
        }
        Assert.Contains("eval points after step 1000000, the rule needs 15", File.ReadAllText(Path.Combine(outDir, "capacity_final_optimal_optimal.csv")));
        Assert.Contains("not converged (the convergence column says why", r.Stdout);

        var none = ActorLabCli.Run("measure", "--results", results, "--out", outDir, "--n-params", "7");
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("matches --n-params 7 (1 run(s) filtered out)", none.Stderr);
        var badHops = ActorLabCli.Run("measure", "--results", results, "--out", outDir, "--min-train-hops", "3");
        Assert.Equal(2, badHops.ExitCode);
        Assert.Contains("--min-train-hops values must be 1 or 2, got 3", badHops.Stderr);
        var badFormulas = ActorLabCli.Run("measure", "--results", results, "--out", outDir, "--formulas", "python");
        Assert.Equal(2, badFormulas.ExitCode);
        Assert.Contains("Unknown formulas 'python': expected one of actorlab, reference", badFormulas.Stderr);

        // entropy: the reference's 2-hop dataset entropy is not incremental (88 + S); ActorLab's is (88).
        var e = ActorLabCli.Run("entropy", "--profiles", profiles, "--formulas", "reference", "--json");
        Assert.True(e.ExitCode == 0, e.Stderr);
        using var doc = JsonDocument.Parse(e.Stdout);
        Assert.Equal(88 + s, doc.RootElement.GetProperty("dataset_entropy_2hop").GetDouble(), 6);
    }

    [Fact]
    public void Measure_exits_non_zero_only_when_nothing_was_measured()
    {
        var root = ActorLabCli.TempDir();
        var results = Directory.CreateDirectory(Path.Combine(root, "results")).FullName;
        WriteRun(results, "no_config_here", null, null, 8, Csv());
        var r = ActorLabCli.Run("measure", "--results", results, "--out", Path.Combine(root, "out"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("error: Nothing could be measured: all 1 run(s)", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(root, "out")));

        var hops = ActorLabCli.Run("measure", "--results", results, "--out", Path.Combine(root, "out"), "--hops", "3");
        Assert.Equal(2, hops.ExitCode);
        Assert.Contains("--hops must be 1, 2 or 2.1", hops.Stderr);

        var missing = ActorLabCli.Run("measure", "--results", Path.Combine(root, "nope"), "--out", Path.Combine(root, "out"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("does not exist", missing.Stderr);
    }
}
