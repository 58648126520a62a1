using ActorLab.Actors.Control;
using ActorLab.Actors.Node;
using ActorLab.Actors.Training;
using ActorLab.Host.Tests.Infrastructure;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;
using TorchSharp;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// Data parallel through the actors on the real model: a sweep run with data-parallel = 2 at batch B, whose ranks
/// all-reduce their gradients every step, ends with the same weights as a data-parallel = 1 run at batch 2B made of
/// both halves.
/// </summary>
public class DataParallelTests
{
    const int B = 4, SeqLen = 64, Steps = 6;

    /// <summary>The real pipeline, with batches crafted so both halves of the 2B batch have the same answer positions.</summary>
    sealed class HalvesBackend(PipelineBackend inner) : ITrainingBackend
    {
        public DatasetFingerprint PrepareDataset(DatasetConfig d, DatasetFingerprint? e, CancellationToken c) => inner.PrepareDataset(d, e, c);
        public void MeasureCapacity(string s, IReadOnlyList<MeasuredRun> r, IReadOnlyList<PreparedDatasetRecord> d, ActorLab.Actors.Sweeps.SweepMeasure m, CancellationToken c) => inner.MeasureCapacity(s, r, d, m, c);
        public void Probe(JobSpec p, int parallel, CancellationToken c) { }

        public IRunReplica OpenReplica(StartRun run, int rank, IReplicaGroup group, string device)
        {
            var data = DatasetStore.Load(DatasetStore.Ensure(inner.Storage, run.Config.Dataset!, run.Dataset));
            var stream = new QaStream(data.Db, data.Tokenizer, null, new QaStreamOptions([1], SeqLen: SeqLen, BatchSize: B, Seed: 3), data.Cache);
            // one stream serves every generator worker here: a QaStream is not thread-safe
            TokenBatch Half(long i) { lock (stream) { stream.Seek(i); return stream.Next(); } }
            Func<long, TokenBatch> batches = run.WorldSize == 1
                ? i => Concat(Half(i), Shift(Half(i), data.Tokenizer.VocabSize))
                : i => rank == 0 ? Half(i) : Shift(Half(i), data.Tokenizer.VocabSize);
            return new Replica(inner.OpenReplica(run, rank, group, device), batches);
        }

        sealed class Replica(IRunReplica inner, Func<long, TokenBatch> batches) : IRunReplica
        {
            public long StreamPosition => inner.StreamPosition;
            public bool TwoHopPhase => inner.TwoHopPhase;
            public IBatchSource OpenBatchSource(bool twoHopPhase) => new FuncSource(batches);
            public RunOutcome Run(IBatchFeed feed, IRunObserver observer, CancellationToken cancel) => inner.Run(feed, observer, cancel);
            public void Dispose() => inner.Dispose();
        }
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

    static string Sweep(string name, int batch, int dataParallel) => $$"""
        sweep {
          name = {{name}}
          grid { layers = [1], param-budgets = [340000], relations = [2], n-profiles = [30], orders = [[1]] }
          vocab-size = 300
          batch-size = {{batch}}
          seq-len = {{SeqLen}}
          max-steps = {{Steps}}
          optimizer.warmup-steps = 2
          eval { steps = [{{Steps}}], questions = 10 }
          checkpoint.every = {{Steps}}
          data-parallel = {{dataParallel}}
        }
        """;

    [Fact]
    public async Task Two_ranks_at_batch_B_match_one_rank_at_batch_2B()
    {
        torch.set_num_threads(1);
        using var dir = new TempDir();
        var config = ActorLab.Actors.Config.ActorLabConfig.Build(dir.Path);
        var storage = ActorLab.Actors.Config.StorageSettings.From(config).Storage;
        var backend = new HalvesBackend(new PipelineBackend(storage, 1));
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"), backend: backend);
        Assert.True((await n.Ask<CommandReply>(new SubmitSweepFile("single", Sweep("single", 2 * B, 1)))).Ok);
        Assert.True((await n.Ask<CommandReply>(new SubmitSweepFile("parallel", Sweep("parallel", B, 2)))).Ok);
        var status = await n.WaitFor(s => s.Sweeps.Length == 2 && s.Sweeps.All(x => x.State == "finished"), TimeSpan.FromMinutes(3));
        var errors = string.Join("; ", (await n.Runs()).Runs.Where(r => r.Error != null).Select(r => $"{r.RunId}: {r.Error}"));
        Assert.All(status.Sweeps, s => Assert.True(s.Completed == 1, $"{s.Name}: {errors}"));

        string Final(string sweep)
        {
            var runDir = Directory.GetDirectories(Path.Combine(dir.Path, "runs", sweep)).Single();
            return Checkpoints.ListWithEpochs(runDir).Single(c => c.Step == (long)Steps).Dir;
        }
        var vocab = QaTokenizer.Load(Directory.GetDirectories(Path.Combine(dir.Path, "tokenizers")).Single()).VocabSize;
        using var a = TrainerCore.Open(Final("single"), new TrainerOptions { VocabSize = vocab });
        using var b = TrainerCore.Open(Final("parallel"), new TrainerOptions { VocabSize = vocab });
        Assert.Equal(Steps, a.Step);
        Assert.Equal(Steps, b.Step);
        var pa = a.Model.parameters().ToArray();
        var pb = b.Model.parameters().ToArray();
        Assert.Equal(pa.Length, pb.Length);
        using var fresh = new ActorLab.Model.Transformer.LlamaMup(a.Model.Config, a.Run.Seed);
        var p0 = fresh.parameters().ToArray();
        double maxDiff = 0, maxMove = 0;
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
