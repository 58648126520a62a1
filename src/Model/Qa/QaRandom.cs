namespace ActorLab.Model.Qa;

/// <summary>
/// Small, fast, portable PRNG (xoshiro256**, seeded through SplitMix64). Streams are derived from tuples of
/// integers (seed, rank, worker, epoch, batch, mode) by hashing, so any batch's randomness can be recreated in
/// O(1) (resume) and different tuples give independent streams (replicas and workers never repeat each other).
/// </summary>
public struct QaRandom
{
    ulong _s0, _s1, _s2, _s3;

    public QaRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>A generator whose state is a hash of all <paramref name="parts"/> (order matters).</summary>
    public static QaRandom Derive(params ReadOnlySpan<long> parts)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var p in parts)
        {
            ulong x = h ^ (ulong)p;
            h = SplitMix(ref x) ^ (h * 0xBF58476D1CE4E5B9UL);
        }
        return new QaRandom(h);
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform integer in [0, n) (Lemire's multiply-shift; bias below 2^-40 for n &lt; 2^24).</summary>
    public int Next(int n) => (int)(((UInt128)NextUInt64() * (uint)n) >> 64);

    public long NextLong(long n) => (long)(((UInt128)NextUInt64() * (ulong)n) >> 64);

    /// <summary>Uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>k distinct values from [0, n), sorted (Floyd's algorithm: k draws, no n-sized buffer).</summary>
    public long[] SampleDistinct(long n, long k)
    {
        if (k > n) throw new ArgumentOutOfRangeException(nameof(k), $"cannot draw {k} distinct values from {n}");
        var chosen = new HashSet<long>();
        for (long j = n - k; j < n; j++)
        {
            long t = NextLong(j + 1);
            if (!chosen.Add(t)) chosen.Add(j);
        }
        var result = chosen.ToArray();
        Array.Sort(result);
        return result;
    }
}
