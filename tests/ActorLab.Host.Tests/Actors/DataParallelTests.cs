using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using ActorLab.Actors.Config;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Node;
using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Training;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;
using TorchSharp;

namespace ActorLab.Actors.Tests;

/// <summary>
/// Data parallel through the actors on the real model: two trainer slots with batch B that all-reduce their
/// gradients every step end with the same weights as one slot trained on the 2B batch made of both halves.
/// </summary>
public class DataParallelTests() : TestKit(ActorLabConfig.Build(Path.Combine(Path.GetTempPath(), "actorlab-dp-" + Guid.NewGuid().ToString("N")[..6])))
{
    const int B = 4, SeqLen = 64, Steps = 6;

    /// <summary>Real trainers; batches crafted so both halves of the 2B batch have the same number of answer tokens.</summary>
    sealed class HalvesBackend(PipelineBackend inner, Func<StartRun, int, IBatchSource> batches) : ITrainingBackend
    {
        public int SolveN(double targetBits, int relations) => inner.SolveN(targetBits, relations);
        public PreparedDataset PrepareDataset(DatasetSpec d, string dataDir, CancellationToken c) => inner.PrepareDataset(d, dataDir, c);
        public IRunTrainer OpenTrainer(StartRun run, int rank, IAllReduce? allReduce) => inner.OpenTrainer(run, rank, allReduce);
        public IBatchSource OpenBatches(StartRun run, int rank) => batches(run, rank);
        public void MeasureCapacity(SweepSpec s, IReadOnlyList<(RunSpec Run, string RunDir)> runs, string o, CancellationToken c) { }
    }

    sealed class FuncSource(Func<long, TokenBatch> get) : IBatchSource
    {
        public TokenBatch Get(long index) => get(index);
        public void Dispose() { }
    }

    /// <summary>The second half: the first half with every token id shifted by one (same answer positions).</summary>
    static TokenBatch Shift(TokenBatch a, int vocab) => new(a.BatchSize, a.SeqLen,
        a.InputIds.Select(t => (t + 1) % vocab).ToArray(),
        a.Labels.Select(t => t == TokenBatch.Ignore ? t : (t + 1) % vocab).ToArray(), a.Questions);

    static TokenBatch Concat(TokenBatch a, TokenBatch b) =>
        new(a.BatchSize + b.BatchSize, a.SeqLen, [.. a.InputIds, .. b.InputIds], [.. a.Labels, .. b.Labels], [.. a.Questions, .. b.Questions]);

    [Fact]
    public void Two_ranks_at_batch_B_match_one_rank_at_batch_2B()
    {
        torch.set_num_threads(1);
        using var dir = new TempDir();
        var inner = new PipelineBackend();
        var spec = SweepPlanner.Plan(SweepFile.Parse($$"""
            sweep {
              name = dp
              grid { layers = [1], param-budgets = [340000], relations = [2], n-profiles = [30], orders = [[1]] }
              vocab-size = 300
              batch-size = {{B}}
              seq-len = {{SeqLen}}
              max-steps = {{Steps}}
              optimizer.warmup-steps = 2
              eval { steps = [{{Steps}}], questions = 10 }
              checkpoint.every = {{Steps}}
            }
            """));
        var ds = spec.Datasets[0];
        var prepared = inner.PrepareDataset(ds, dir.Path, CancellationToken.None);
        var vocab = QaTokenizer.Load(prepared.TokenizerPath).VocabSize;
        var db = ActorLab.Model.Profiles.ProfileParquet.Read(prepared.ProfilesPath);
        var tok = QaTokenizer.Load(prepared.TokenizerPath);
        var stream = new QaStream(db, tok, null, new QaStreamOptions([1], SeqLen: SeqLen, BatchSize: B, Seed: 3));
        // one stream serves both ranks' generators here: a QaStream is not thread-safe
        TokenBatch Half(long i) { lock (stream) { stream.Seek(i); return stream.Next(); } }

        var backend = new HalvesBackend(inner, (run, rank) => run.WorldSize == 1
            ? new FuncSource(i => Concat(Half(i), Shift(Half(i), vocab)))
            : new FuncSource(i => rank == 0 ? Half(i) : Shift(Half(i), vocab)));
        var node = Sys.ActorOf(NodeAgent.Props("n", new NodeSettings(2, "cpu", TimeSpan.FromSeconds(30), 1, 2), TestActor, backend));
        ExpectMsg<RegisterNode>();

        string Train(string name, int worldSize, int batch)
        {
            var run = spec.Runs[0] with { RunId = $"dp/{name}", RunName = name, DataParallel = worldSize };
            var training = spec.Training with { BatchSize = batch };
            var slots = Enumerable.Range(0, worldSize).ToImmutableArray();
            node.Tell(new StartRun(run.RunId, 1, slots, run, training, spec.HopRatio, ds, prepared.ProfilesPath, prepared.TokenizerPath,
                Path.Combine(dir.Path, "runs", name), TestActor));
            string? checkpoint = null;
            FishForMessage(m =>
            {
                if (m is ReportCheckpoint c) checkpoint = c.Path;
                if (m is ReportRunFailed f) throw new Xunit.Sdk.XunitException(f.Error);
                return m is ReportRunCompleted;
            }, TimeSpan.FromMinutes(2));
            return checkpoint!;
        }

        var single = Train("single", 1, 2 * B);
        var parallel = Train("parallel", 2, B);
        using var a = TrainerCore.Open(single, new TrainerOptions { VocabSize = vocab });
        using var b = TrainerCore.Open(parallel, new TrainerOptions { VocabSize = vocab });
        Assert.Equal(Steps, a.Step);
        Assert.Equal(Steps, b.Step);
        var pa = a.Model.parameters().ToArray();
        var pb = b.Model.parameters().ToArray();
        Assert.Equal(pa.Length, pb.Length);
        double maxDiff = 0, maxMove = 0;
        using var fresh = TrainerCore.Create(PipelineBackend.ToRunConfig(new StartRun("x", 1, [0], spec.Runs[0], spec.Training, 0.1, ds,
            prepared.ProfilesPath, prepared.TokenizerPath, Path.Combine(dir.Path, "fresh"), TestActor), "cpu"), Path.Combine(dir.Path, "fresh"),
            new TrainerOptions { VocabSize = vocab });
        var p0 = fresh.Model.parameters().ToArray();
        for (var i = 0; i < pa.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, (pa[i] - pb[i]).abs().max().item<float>());
            maxMove = Math.Max(maxMove, (pa[i] - p0[i]).abs().max().item<float>());
        }
        Assert.True(maxMove > 1e-4, $"training moved the weights by only {maxMove}");
        Assert.True(maxDiff < 1e-5, $"dp=2 at batch {B} differs from dp=1 at batch {2 * B} by {maxDiff} (weights moved {maxMove})");
        // the replicas agree far more closely than training moved them
        Assert.True(maxMove > 100 * maxDiff);
    }
}
