using ActorLab.Actors.Sweeps;
using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;
using Xunit.Abstractions;

namespace ActorLab.Host.Tests.Robustness;

/// <summary>
/// The limits `sweep check` (and the planning every submit goes through) applies before anything runs: a seq-len that
/// no tokenizer could fit one question into, and a sweep whose checkpoints, logs and datasets would not fit the disk.
/// </summary>
public class SweepCheckLimitsTests(ITestOutputHelper output)
{
    static string Sweep(int relations, int seqLen, string extra = "") => $$"""
        sweep {
          name = limits
          grid { layers = [1], param-budgets = [340000], relations = [{{relations}}], n-profiles = [60], orders = [[1]] }
          vocab-size = 400
          seq-len = {{seqLen}}
          {{extra}}
        }
        """;

    /// <summary>Value lists with the names that pre-tokenize oddly: apostrophes, dots, hyphens, digits, non-ASCII letters.</summary>
    static ValueLists OddLists() => ValueLists.Default with
    {
        FirstNames = ["Jo", "Ann-Marie", "D'Arcy", "Zoë", "J.R.", "X2"],
        Surnames = ["O'Neil", "Smith-Jones", "St. John", "Ng", "Jr.", "Lee's", "Ó Briain"],
        Source = "odd",
    };

    public static TheoryData<int, int, int, bool, string> Datasets => new()
    {
        { 60, 1, 300, false, "default" },
        { 200, 2, 400, false, "default" },
        { 300, 4, 3000, true, "default" },
        { 500, 17, 1000, false, "default" },
        { 200, 17, 5000, false, "default" },
        { 150, 3, 300, false, "odd" },
        { 150, 17, 2000, false, "odd" },
    };

    [Theory]
    [MemberData(nameof(Datasets))]
    public void The_question_bound_is_never_above_what_the_trained_tokenizer_gives(int n, int relations, int vocab, bool bipartite, string lists)
    {
        var values = lists == "odd" ? OddLists() : ValueLists.Default;
        var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(n, relations, Seed: 3, bipartite), values);
        var tok = QaTokenizer.Train(QaCorpus.Texts(db, 3), vocab);
        var real = new QaTokenCache(db, tok).MaxQuestionTokens;
        var bound = QaTokenCache.MaxQuestionTokensLowerBound(relations, values);
        output.WriteLine($"N={n} R={relations} vocab={tok.VocabSize} lists={lists}: bound {bound}, real {real}; seq-len needs {QaStream.MinSeqLen(bound)} <= {QaStream.MinSeqLen(real)}");
        Assert.True(bound <= real, $"bound {bound} above the real {real}");
        Assert.True(QaStream.MinSeqLen(bound) <= QaStream.MinSeqLen(real));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    public void Sweep_check_refuses_a_seq_len_below_the_bound_and_accepts_one_at_it(int relations)
    {
        var needed = QaStream.MinSeqLen(QaTokenCache.MaxQuestionTokensLowerBound(relations, ValueLists.Default));
        var dir = ActorLabCli.TempDir();
        try
        {
            var below = Path.Combine(dir, "below.conf");
            File.WriteAllText(below, Sweep(relations, needed - 1));
            var r = ActorLabCli.Run("sweep", "check", below, "--data-dir", Path.Combine(dir, "data"));
            Assert.Equal(2, r.Exit);
            Assert.Contains($"sweep.seq-len: {needed - 1} is too short for one question at grid point relations = {relations}", r.Err);
            Assert.Contains($"needs at least {needed}", r.Err);
            Assert.DoesNotContain("   at ", r.Err);

            var at = Path.Combine(dir, "at.conf");
            File.WriteAllText(at, Sweep(relations, needed));
            var ok = ActorLabCli.Run("sweep", "check", at, "--data-dir", Path.Combine(dir, "data"));
            Assert.True(ok.Exit == 0, ok.Err);
            Assert.Contains("disk: about", ok.Out);
            Assert.False(Directory.Exists(Path.Combine(dir, "data")), "sweep check writes nothing");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Planning_refuses_the_short_seq_len_too_so_a_submit_is_refused_by_the_same_rule()
    {
        var def = SweepFile.Parse(Sweep(17, 17));
        var e = Assert.Throws<UserInputException>(() => SweepPlanner.Plan(def));
        Assert.Contains("sweep.seq-len: 17 is too short for one question at grid point relations = 17", e.Message);
    }

    [Fact]
    public void The_disk_estimate_is_within_a_factor_of_what_a_real_short_sweep_writes()
    {
        var dir = ActorLabCli.TempDir();
        try
        {
            var file = Path.Combine(dir, "est.conf");
            File.WriteAllText(file, """
                sweep {
                  name = est
                  grid { layers = [1], param-budgets = [340000, 420000], relations = [2], n-profiles = [100], orders = [[1], [1, 2]] }
                  vocab-size = 400
                  batch-size = 4
                  seq-len = 64
                  max-steps = 40
                  optimizer { warmup-steps = 0 }
                  convergence.enabled = false
                  eval { steps = [10, 20], questions = 20 }
                  checkpoint { every = 5, keep-last = 2 }
                }
                """);
            var plan = SweepPlanner.Plan(SweepFile.Load(file));
            var estimate = SweepPlanner.Disk(plan, 400);
            var data = Path.Combine(dir, "data");
            var r = ActorLabCli.Run("sweep", "run", file, "--data-dir", data, "--slots", "2", "--plain", "--quiet");
            Assert.True(r.Exit == 0, r.Out + r.Err);
            // bytes on disk: the measure job's measured-runs/ links to the run folders are not followed (du counts them once too)
            var walk = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };
            long actual = new DirectoryInfo(data).EnumerateFiles("*", walk).Sum(f => f.Length);
            foreach (var d in new DirectoryInfo(data).EnumerateDirectories("*", walk))
                output.WriteLine($"  {Path.GetRelativePath(data, d.FullName)}: {d.EnumerateFiles().Sum(f => f.Length):N0} B");
            output.WriteLine($"estimate {estimate.TotalBytes:N0} B ({estimate.Describe()}), actual {actual:N0} B, ratio {(double)estimate.TotalBytes / actual:F2}");
            Assert.InRange(estimate.TotalBytes, actual, 3 * actual);

            // run again: nothing is left to write, so the estimate of the rest is small and the resume is not refused
            var rest = SweepPlanner.Disk(plan, 400, new Model.Storage.RunStorage(data, data));
            output.WriteLine($"after the sweep: {rest.Describe()}");
            Assert.True(rest.CheckpointBytes < estimate.CheckpointBytes / 2);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_sweep_whose_disk_estimate_exceeds_the_free_space_is_refused_with_both_figures()
    {
        var plan = SweepPlanner.Plan(SweepFile.Parse(Sweep(2, 64, "max-steps = 100")));
        var disk = SweepPlanner.Disk(plan, 400);
        var e = Assert.Throws<UserInputException>(() => disk.CheckFits("/data", "/data", "sweep limits", _ => disk.TotalBytes - 1));
        Assert.Contains($"sweep limits needs about {MemoryEstimate.Format(disk.TotalBytes)} (checkpoints", e.Message);
        Assert.Contains($"more than the {MemoryEstimate.Format(disk.TotalBytes - 1)} free on the file system of '/data'", e.Message);
        disk.CheckFits("/data", "/data", "sweep limits", _ => disk.TotalBytes);

        // results and datasets on different folders: each part against its own file system
        var split = Assert.Throws<UserInputException>(() => disk.CheckFits("/shared", "/node", "sweep limits", d => d == "/node" ? 0 : long.MaxValue));
        Assert.Contains("sweep limits's datasets needs about", split.Message);
        Assert.Contains("'/node'", split.Message);
    }

    [Fact]
    public void Sweep_check_and_sweep_run_refuse_a_sweep_that_would_fill_the_disk_before_writing_anything()
    {
        var dir = ActorLabCli.TempDir();
        try
        {
            // a 10^10-parameter model plans (about 150 GiB per replica) but each checkpoint is about 112 GiB: 10 runs, about 17 TiB
            var file = Path.Combine(dir, "huge.conf");
            File.WriteAllText(file, Sweep(2, 64, "batch-size = 1\n grid.param-budgets = [10000000000]\n grid.seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"));
            var data = Path.Combine(dir, "data");
            var free = DiskEstimate.FreeBytes(data);
            var needed = SweepPlanner.Disk(SweepPlanner.Plan(SweepFile.Load(file)), 400).TotalBytes;
            Assert.True(needed > free, $"the test needs less than {MemoryEstimate.Format(needed)} free, has {MemoryEstimate.Format(free)}");
            foreach (var args in new[] { new[] { "sweep", "check", file, "--data-dir", data }, ["sweep", "run", file, "--data-dir", data, "--slots", "1"] })
            {
                var r = ActorLabCli.Run(args);
                output.WriteLine(r.Err);
                Assert.Equal(2, r.Exit);
                Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                Assert.Contains("sweep limits needs about", r.Err);
                Assert.Contains("of disk, more than the", r.Err);
                Assert.Contains($"free on the file system of '{data}'", r.Err);
                Assert.False(Directory.Exists(data), $"{args[1]} wrote into the data dir");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
