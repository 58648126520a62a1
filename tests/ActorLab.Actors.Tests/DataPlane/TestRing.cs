using System.Net;
using System.Runtime.InteropServices;
using ActorLab.Actors.Config;
using ActorLab.Actors.DataPlane;

namespace ActorLab.Actors.Tests.DataPlane;

/// <summary>W listeners on 127.0.0.1 in this process (one per "node"), joined into one ring.</summary>
sealed class TestRing : IDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public DataPlaneListener[] Listeners { get; }
    public RingSpec Spec { get; }
    public RingConnection[] Members { get; private set; } = [];

    TestRing(DataPlaneListener[] listeners, RingSpec spec)
    {
        Listeners = listeners;
        Spec = spec;
    }

    public static string Node(int i) => $"node-{(char)('A' + i)}";

    /// <summary>Listeners and a spec; nobody joined yet.</summary>
    public static TestRing Prepare(int world, string run = "run-a", long epoch = 1, Func<int, ClusterTls?>? tls = null)
    {
        var listeners = Enumerable.Range(0, world).Select(i => new DataPlaneListener(IPAddress.Loopback, 0, tls?.Invoke(i))).ToArray();
        var spec = new RingSpec(run, epoch, [.. listeners.Select((l, i) => new RingMember(Node(i), "127.0.0.1", l.Port))], RingSpec.NewSecret());
        return new TestRing(listeners, spec);
    }

    public static async Task<TestRing> Start(int world, string run = "run-a", long epoch = 1, Func<int, ClusterTls?>? tls = null)
    {
        var ring = Prepare(world, run, epoch, tls);
        await ring.Join(ring.Spec);
        return ring;
    }

    public async Task Join(RingSpec spec) =>
        Members = await Task.WhenAll(Listeners.Select((l, i) => l.JoinAsync(spec, i, TimeSpan.FromSeconds(10), CancellationToken.None)));

    /// <summary>Every member's all-reduce at once, each on a thread of its own (the calls block).</summary>
    public Task<RingFlags[]> AllReduce(float[][] buffers, int count, RingFlags[]? flags = null, TimeSpan? deadline = null) =>
        Task.WhenAll(Members.Select((m, i) => OnThread(() => m.AllReduceSum(buffers[i], count, flags?[i] ?? default, deadline ?? Deadline))));

    public static Task<T> OnThread<T>(Func<T> f) => Task.Factory.StartNew(f, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public static float[][] RandomBuffers(int world, int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, world).Select(_ => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
    }

    public static byte[] Bits(float[] values, int count) => MemoryMarshal.AsBytes(values.AsSpan(0, count)).ToArray();

    public void Dispose()
    {
        foreach (var m in Members) m.Dispose();
        foreach (var l in Listeners) l.Dispose();
    }
}
