using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using ActorLab.Actors.DataPlane;

namespace ActorLab.Bench;

/// <summary>
/// The data plane's ring all-reduce on loopback against raw TCP moving the same bytes. W listeners in this process
/// form a ring; per size and round, every member sums a buffer of that size (all members at once, each on its own
/// thread). Bus bandwidth is NCCL's: 2(W-1)/W * bytes / time, the bytes each member sends and receives. The raw
/// baseline is W plain sockets in a ring, each member sending 2(W-1)/W * bytes to the next while receiving as much
/// from the previous (a thread each way, 1 MiB writes): the wire's ceiling for the ring's traffic.
/// Args: [--sizes-mb 1,4,25,100] [--world W] [--rounds R].
/// </summary>
public static class RingBench
{
    const int Block = 1 << 20;

    public static int Run(string[] args)
    {
        int[] sizes = [1, 4, 25, 100];
        int world = 2, rounds = 5;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--sizes-mb": sizes = args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--world": world = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }
        if (world < 2) { Console.Error.WriteLine("--world must be at least 2"); return 2; }

        var listeners = Enumerable.Range(0, world).Select(_ => new DataPlaneListener(IPAddress.Loopback, 0)).ToArray();
        var spec = new RingSpec("bench", 1, [.. listeners.Select((l, i) => new RingMember($"n{i}", "127.0.0.1", l.Port))], RingSpec.NewSecret());
        var ring = Task.WhenAll(listeners.Select((l, i) => l.JoinAsync(spec, i, TimeSpan.FromSeconds(30), CancellationToken.None))).GetAwaiter().GetResult();
        var raw = RawRing(world);
        var rows = new List<string>();
        var factor = 2.0 * (world - 1) / world;
        try
        {
            foreach (var mb in sizes)
            {
                var count = mb * (1 << 20) / sizeof(float);
                var buffers = Enumerable.Range(0, world).Select(r => Enumerable.Range(0, count).Select(j => (j % 7) * 1e-3f + r).ToArray()).ToArray();
                var perMember = (long)(factor * count * sizeof(float));
                // where raw TCP lands its bytes in the "full" variant: a buffer of the same size, as the ring must
                var landing = Enumerable.Range(0, world).Select(_ => new byte[count * sizeof(float)]).ToArray();
                RingRound(ring, buffers, count); // warm up: JIT, socket buffers, page faults
                RawRound(raw, buffers, perMember, null);
                RawRound(raw, buffers, perMember, landing);
                var ringBus = new List<double>();
                var rawBus = new List<double>();
                var rawHotBus = new List<double>();
                var adds = new List<double>();
                for (var round = 0; round < rounds; round++)
                {
                    var ringSeconds = RingRound(ring, buffers, count);
                    var rawSeconds = RawRound(raw, buffers, perMember, landing);
                    var rawHotSeconds = RawRound(raw, buffers, perMember, null);
                    adds.Add(AddSeconds(buffers, count, world) * 1e3);
                    ringBus.Add(perMember / ringSeconds / 1e9);
                    rawBus.Add(perMember / rawSeconds / 1e9);
                    rawHotBus.Add(perMember / rawHotSeconds / 1e9);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{mb} MB round {round + 1}: ring {ringSeconds * 1e3:F1} ms ({ringBus[^1]:F2} GB/s bus), raw TCP {rawSeconds * 1e3:F1} ms ({rawBus[^1]:F2} GB/s), into a 1 MiB block {rawHotSeconds * 1e3:F1} ms ({rawHotBus[^1]:F2} GB/s)"));
                }
                rows.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {mb} | {Spread(ringBus)} | {Spread(rawBus)} | {Median(ringBus) / Median(rawBus):F2} | {Spread(rawHotBus)} | {Median(ringBus) / Median(rawHotBus):F2} | {(double)mb * factor / Median(ringBus) * (1 << 20) / 1e6:F1} | {Median(adds):F1} |"));
            }
        }
        finally
        {
            foreach (var m in ring) m.Dispose();
            foreach (var l in listeners) l.Dispose();
            foreach (var (send, receive) in raw) { send.Dispose(); receive.Dispose(); }
        }

        var md = new StringBuilder();
        md.AppendLine($"# Ring all-reduce (SUM, fp32) on loopback, world {world}, {rounds} rounds after a warm-up ({BenchResults.Machine()}; load average at start {LoadAverage()})");
        md.AppendLine();
        md.AppendLine("Bus bandwidth = 2(W-1)/W x buffer bytes / time (NCCL's definition). Raw TCP: the same number of sockets in a ring, each member sending 2(W-1)/W x buffer bytes from its buffer to the next while receiving as much, no arithmetic; received into a buffer of the buffer's size (as the ring must land its bytes), and, for comparison, into one reused 1 MiB block that stays in cache. All members run in one process on 127.0.0.1, so \"the wire\" is the kernel copying memory on the same cores that run the members.");
        md.AppendLine();
        md.AppendLine("| buffer, MB (MiB) | ring bus bandwidth, GB/s (median, min-max) | raw TCP into a full buffer, GB/s (median, min-max) | ring / raw | raw TCP into a 1 MiB block, GB/s | ring / that | ring time, ms (median) | a member's adds alone, ms (one thread, median) |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in rows) md.AppendLine(r);
        Console.WriteLine();
        Console.Write(md);
        Console.WriteLine($"written: {BenchResults.Write(world == 2 ? "ring" : $"ring-world{world}", md.ToString())}");
        return 0;
    }

    /// <summary>One all-reduce on every member at once; the time from the first start to the last finish.</summary>
    static double RingRound(RingConnection[] ring, float[][] buffers, int count) =>
        Together(ring.Length, r => ring[r].AllReduceSum(buffers[r], count, default, TimeSpan.FromSeconds(60)));

    /// <summary>Every member sends perMember bytes to the next (from its buffer) while receiving as much from the previous.</summary>
    static double RawRound((Socket Send, Socket Receive)[] raw, float[][] buffers, long perMember, byte[][]? landing)
    {
        var w = raw.Length;
        return Together(2 * w, i =>
        {
            var r = i / 2;
            if (i % 2 == 0)
            {
                var bytes = MemoryMarshal.AsBytes(buffers[r].AsSpan());
                for (long sent = 0; sent < perMember;)
                {
                    var n = (int)Math.Min(Block, perMember - sent);
                    raw[r].Send.Send(bytes.Slice((int)(sent % (bytes.Length - Block + 1)), n));
                    sent += n;
                }
            }
            else
            {
                var block = ReceiveBlocks[r] ??= new byte[Block];
                for (long got = 0; got < perMember;)
                {
                    var want = (int)Math.Min(Block, perMember - got);
                    var n = landing == null
                        ? raw[r].Receive.Receive(block, 0, want, SocketFlags.None)
                        : raw[r].Receive.Receive(landing[r], (int)(got % (landing[r].Length - Block + 1)), want, SocketFlags.None);
                    if (n == 0) throw new EndOfStreamException();
                    got += n;
                }
            }
        });
    }

    /// <summary>The arithmetic a member does in the reduce-scatter, (W-1)/W of the buffer added, with no I/O: what the ring costs beyond raw TCP on a machine where loopback TCP is itself CPU-bound.</summary>
    static double AddSeconds(float[][] buffers, int count, int w)
    {
        var n = (int)((long)count * (w - 1) / w);
        var sw = Stopwatch.StartNew();
        System.Numerics.Tensors.TensorPrimitives.Add(buffers[0].AsSpan(0, n), buffers[1].AsSpan(0, n), buffers[0].AsSpan(0, n));
        return sw.Elapsed.TotalSeconds;
    }

    static readonly byte[]?[] ReceiveBlocks = new byte[64][];

    static double Together(int n, Action<int> work)
    {
        var starts = new long[n];
        var ends = new long[n];
        using var barrier = new Barrier(n);
        var threads = Enumerable.Range(0, n).Select(i => new Thread(() =>
        {
            barrier.SignalAndWait();
            starts[i] = Stopwatch.GetTimestamp();
            work(i);
            ends[i] = Stopwatch.GetTimestamp();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return (ends.Max() - starts.Min()) / (double)Stopwatch.Frequency;
    }

    /// <summary>W loopback sockets in a ring: member r sends on raw[r].Send to r+1, receives on raw[r].Receive from r-1.</summary>
    static (Socket Send, Socket Receive)[] RawRing(int w)
    {
        var accepting = Enumerable.Range(0, w).Select(_ =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            s.Listen(1);
            return s;
        }).ToArray();
        var sends = new Socket[w];
        var receives = new Socket[w];
        for (var r = 0; r < w; r++)
        {
            var next = (r + 1) % w;
            sends[r] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            sends[r].Connect(accepting[next].LocalEndPoint!);
            receives[next] = accepting[next].Accept();
            receives[next].NoDelay = true;
        }
        foreach (var a in accepting) a.Dispose();
        return Enumerable.Range(0, w).Select(r => (sends[r], receives[r])).ToArray();
    }

    static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }

    static double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);

    static string Spread(List<double> v) =>
        string.Create(CultureInfo.InvariantCulture, $"{Median(v):F2} ({v.Min():F2}-{v.Max():F2})");
}
