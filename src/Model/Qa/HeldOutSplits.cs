using System.Buffers.Binary;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;

namespace ActorLab.Model.Qa;

/// <summary>
/// The held-out splits of 2-hop tuples (SPEC 2.3). A tuple (p, r, a) asks subject a of s = p.r and has the id
/// ((p R + r) S + a). Instead of ~9 million tuple objects we keep one class byte per tuple id (9 MB at N=25000,
/// R=17) plus sorted id arrays for the small held-out sets; the available training tuples are sampled by
/// rejection (they are ~85% of all tuples, so ~1.2 draws per sample).
/// Sets are drawn with <see cref="QaRandom"/> from the seed, so the same (db, seed) gives the same split; a run
/// saves it with <see cref="WriteTo"/> and a resumed run reloads it with <see cref="ReadFrom"/>.
/// </summary>
public sealed class HeldOutSplits
{
    public const double DefaultPeopleFraction = 0.02;  // f
    public const double DefaultTupleFraction = 0.1;    // F

    /// <summary>Tuple classes, in peel order; <see cref="TupleClass.FirstPeople"/> marks every tuple whose p is held out.</summary>
    public enum TupleClass : byte
    {
        FirstPeople, Relations, SecondAttributes, PersonRelation, SecondPeople, SecondPersonAttribute, CompleteTwoHop, Available,
    }

    readonly byte[] _class;              // per tuple id
    readonly int[][] _tuplesOfClass;     // sorted tuple ids for the held-out classes (not FirstPeople/Available)
    readonly long[] _classCount;
    readonly int[] _firstPeopleRelations;    // relations not held out (for eval_first_people)
    readonly int[] _firstPeopleSubjects;     // subjects not held out

    HeldOutSplits(int n, int r, int seed, double f, double bigF, ulong fingerprint,
        int[] firstPeople, int[] relations, long[] personRelationPairs, int[] secondPeople, int[] secondAttributes,
        long[] secondPersonAttributePairs, int[] completeTwoHop)
    {
        N = n; R = r; S = Subjects.Count(r); Seed = seed; PeopleFraction = f; TupleFraction = bigF; Fingerprint = fingerprint;
        FirstPeople = firstPeople; HeldRelations = relations; PersonRelationPairs = personRelationPairs;
        SecondPeople = secondPeople; SecondAttributes = secondAttributes; SecondPersonAttributePairs = secondPersonAttributePairs;
        _class = new byte[checked(n * r * S)];
        _classCount = new long[8];
        _tuplesOfClass = new int[8][];
        _firstPeopleRelations = Enumerable.Range(0, r).Where(x => Array.BinarySearch(relations, x) < 0).ToArray();
        _firstPeopleSubjects = Enumerable.Range(0, S).Where(x => Array.BinarySearch(secondAttributes, x) < 0).ToArray();
    }

    public int N { get; }
    public int R { get; }
    public int S { get; }
    public int Seed { get; }
    public double PeopleFraction { get; }
    public double TupleFraction { get; }
    /// <summary>Hash of the database's relation targets the split was built for.</summary>
    public ulong Fingerprint { get; }

    public int[] FirstPeople { get; }
    public int[] HeldRelations { get; }
    /// <summary>(p, r) pairs as p R + r, sorted.</summary>
    public long[] PersonRelationPairs { get; }
    public int[] SecondPeople { get; }
    /// <summary>Held-out subjects (subject ids: attributes 0..3, then relations).</summary>
    public int[] SecondAttributes { get; }
    /// <summary>(s, a) pairs as s S + a, sorted.</summary>
    public long[] SecondPersonAttributePairs { get; }

    public long TupleCount => _class.LongLength;
    public int TupleId(int p, int r, int a) => (p * R + r) * S + a;
    public (int P, int R, int A) Decode(int tuple) => (tuple / S / R, tuple / S % R, tuple % S);
    public TupleClass ClassOf(int tuple) => (TupleClass)_class[tuple];
    public TupleClass ClassOf(int p, int r, int a) => (TupleClass)_class[TupleId(p, r, a)];
    public long CountOf(TupleClass c) => _classCount[(int)c];

    /// <summary>Builds the split exactly as SPEC 2.3 (f = 0.02, F = 0.1 by default).</summary>
    public static HeldOutSplits Build(ProfileDatabase db, int seed,
        double peopleFraction = DefaultPeopleFraction, double tupleFraction = DefaultTupleFraction)
    {
        int n = db.Count, r = db.RelationCount, s = Subjects.Count(r);
        if ((long)n * r * s > int.MaxValue)
            throw new UserInputException($"{n} profiles x {r} relations x {s} subjects is too many 2-hop tuples (limit 2^31).");
        var rng = QaRandom.Derive(0x5350_4C49_54, seed); // "SPLIT"
        double f = peopleFraction;
        static long Count(double x) => Math.Max(1, (long)x);

        int[] ToInt(long[] a) => a.Select(x => (int)x).ToArray();
        var firstPeople = ToInt(rng.SampleDistinct(n, Count(n * f)));
        var relations = ToInt(rng.SampleDistinct(r, Count(r * f)));
        var prp = rng.SampleDistinct((long)n * r, Count((double)n * r * f));
        var secondPeople = ToInt(rng.SampleDistinct(n, Count(n * f)));
        // as the reference: the held-out subjects come from all S subjects (at R = 17 usually a relation), their
        // count and the (s, a) pair count from the 4 attributes only
        var secondAttributes = ToInt(rng.SampleDistinct(s, Count(AttributeNames.Count * f)));
        var spap = rng.SampleDistinct((long)n * s, Count((double)n * AttributeNames.Count * f));

        var splits = new HeldOutSplits(n, r, seed, peopleFraction, tupleFraction, FingerprintOf(db),
            firstPeople, relations, prp, secondPeople, secondAttributes, spap, []);
        splits.Classify(db);

        // complete_two_hop_tuples: a uniform random max(1, int(N R 4 F)) of what is left after peeling.
        long rest = splits._classCount[(int)TupleClass.Available];
        long k = Math.Min(rest, Count((double)n * r * AttributeNames.Count * tupleFraction));
        var complete = new List<int>((int)k);
        while (complete.Count < k)
        {
            int t = (int)rng.NextLong(splits._class.LongLength);
            if (splits._class[t] != (byte)TupleClass.Available) continue;
            splits._class[t] = (byte)TupleClass.CompleteTwoHop;
            complete.Add(t);
        }
        splits.FinishClasses();
        return splits;
    }

    /// <summary>Peels every tuple into its class (everything except complete_two_hop, which is drawn after).</summary>
    void Classify(ProfileDatabase db)
    {
        var isFirst = Mask(N, FirstPeople);
        var isRel = Mask(R, HeldRelations);
        var isAttr = Mask(S, SecondAttributes);
        var isSecond = Mask(N, SecondPeople);
        var isPrp = Mask((long)N * R, PersonRelationPairs);
        var isSpap = Mask((long)N * S, SecondPersonAttributePairs);
        var targets = db.RelationTargets;
        Parallel.For(0, N, p =>
        {
            for (int r = 0; r < R; r++)
            {
                int s = targets[r][p];
                int baseId = (p * R + r) * S;
                for (int a = 0; a < S; a++)
                {
                    TupleClass c =
                        isFirst[p] ? TupleClass.FirstPeople :
                        isRel[r] ? TupleClass.Relations :
                        isAttr[a] ? TupleClass.SecondAttributes :
                        isPrp[p * R + r] ? TupleClass.PersonRelation :
                        isSecond[s] ? TupleClass.SecondPeople :
                        isSpap[(long)s * S + a] ? TupleClass.SecondPersonAttribute :
                        TupleClass.Available;
                    _class[baseId + a] = (byte)c;
                }
            }
        });
        CountClasses();
    }

    void CountClasses()
    {
        Array.Clear(_classCount);
        foreach (var c in _class) _classCount[c]++;
    }

    void FinishClasses()
    {
        CountClasses();
        for (int c = (int)TupleClass.Relations; c <= (int)TupleClass.CompleteTwoHop; c++)
        {
            var ids = new int[_classCount[c]];
            int j = 0;
            for (int t = 0; t < _class.Length; t++)
                if (_class[t] == c) ids[j++] = t;
            _tuplesOfClass[c] = ids;
        }
    }

    static bool[] Mask(long size, IEnumerable<long> members)
    {
        var m = new bool[size];
        foreach (var x in members) m[x] = true;
        return m;
    }

    static bool[] Mask(long size, int[] members) => Mask(size, members.Select(x => (long)x));

    /// <summary>Sorted tuple ids of one held-out class (not <see cref="TupleClass.FirstPeople"/> or <see cref="TupleClass.Available"/>).</summary>
    public ReadOnlySpan<int> TuplesOf(TupleClass c) => _tuplesOfClass[(int)c] ??
        throw new ArgumentException($"{c} tuples are not listed; sample them instead");

    /// <summary>The tuple class an eval mode draws from (null for train_onehop and eval_first_people).</summary>
    public static TupleClass? ClassOf(EvalMode mode) => mode switch
    {
        EvalMode.TrainTwohop => TupleClass.Available,
        EvalMode.EvalRelations => TupleClass.Relations,
        EvalMode.EvalPersonRelationPairs => TupleClass.PersonRelation,
        EvalMode.EvalSecondPeople => TupleClass.SecondPeople,
        EvalMode.EvalSecondAttributes => TupleClass.SecondAttributes,
        EvalMode.EvalSecondPersonAttributePairs => TupleClass.SecondPersonAttribute,
        EvalMode.EvalCompleteTwoHopQuestions => TupleClass.CompleteTwoHop,
        _ => null,
    };

    /// <summary>
    /// A uniform 2-hop tuple for <paramref name="mode"/>: train_twohop from the available training tuples,
    /// eval_first_people from (first person, non-held-out relation, non-held-out subject), the other eval modes
    /// from their tuple set.
    /// </summary>
    public (int P, int R, int A) Sample(EvalMode mode, ref QaRandom rng)
    {
        switch (mode)
        {
            case EvalMode.TrainOnehop:
                throw new ArgumentException("train_onehop questions are 1-hop; they are never held out");
            case EvalMode.EvalFirstPeople:
                return (FirstPeople[rng.Next(FirstPeople.Length)],
                        _firstPeopleRelations.Length == 0 ? throw new InvalidOperationException("every relation is held out") : _firstPeopleRelations[rng.Next(_firstPeopleRelations.Length)],
                        _firstPeopleSubjects[rng.Next(_firstPeopleSubjects.Length)]);
            case EvalMode.TrainTwohop:
                if (_classCount[(int)TupleClass.Available] == 0) throw new InvalidOperationException("no available training tuples");
                while (true)
                {
                    int t = (int)rng.NextLong(_class.LongLength);
                    if (_class[t] == (byte)TupleClass.Available) return Decode(t);
                }
            default:
                var ids = _tuplesOfClass[(int)ClassOf(mode)!.Value];
                if (ids.Length == 0) throw new InvalidOperationException($"the {mode.Name()} set is empty");
                return Decode(ids[rng.Next(ids.Length)]);
        }
    }

    /// <summary>Sizes of every set, keyed by the SPEC 2.3 names.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Counts() =>
    [
        new("first_people", FirstPeople.Length),
        new("relations", HeldRelations.Length),
        new("person_relation_pairs", PersonRelationPairs.Length),
        new("second_people", SecondPeople.Length),
        new("second_attributes", SecondAttributes.Length),
        new("second_person_attribute_pairs", SecondPersonAttributePairs.Length),
        new("relations_tuples", CountOf(TupleClass.Relations)),
        new("second_attribute_tuples", CountOf(TupleClass.SecondAttributes)),
        new("person_relation_tuples", CountOf(TupleClass.PersonRelation)),
        new("second_people_tuples", CountOf(TupleClass.SecondPeople)),
        new("second_person_attribute_tuples", CountOf(TupleClass.SecondPersonAttribute)),
        new("complete_two_hop_tuples", CountOf(TupleClass.CompleteTwoHop)),
        new("available_training_tuples", CountOf(TupleClass.Available)),
    ];

    // ---- serialisation ----
    const ulong Magic = 0x3154_4C50_5341_4C41; // the bytes "ALASPLT1" when written little-endian

    /// <summary>Writes the drawn sets (the peeled classes are recomputed on read), little-endian binary.</summary>
    public void WriteTo(Stream stream)
    {
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(N); w.Write(R); w.Write(Seed); w.Write(PeopleFraction); w.Write(TupleFraction); w.Write(Fingerprint);
        void Ints(IReadOnlyCollection<int> a) { w.Write(a.Count); foreach (var x in a) w.Write(x); }
        void Longs(long[] a) { w.Write(a.Length); foreach (var x in a) w.Write(x); }
        Ints(FirstPeople); Ints(HeldRelations); Longs(PersonRelationPairs); Ints(SecondPeople); Ints(SecondAttributes);
        Longs(SecondPersonAttributePairs); Ints(_tuplesOfClass[(int)TupleClass.CompleteTwoHop]);
    }

    /// <summary>Reads a split saved by <see cref="WriteTo"/> and checks it belongs to <paramref name="db"/>.</summary>
    public static HeldOutSplits ReadFrom(Stream stream, ProfileDatabase db)
    {
        try
        {
            using var rd = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            if (rd.ReadUInt64() != Magic) throw new UserInputException("not a held-out splits file (bad header)");
            int n = rd.ReadInt32(), r = rd.ReadInt32(), seed = rd.ReadInt32();
            double f = rd.ReadDouble(), bigF = rd.ReadDouble();
            ulong fp = rd.ReadUInt64();
            if (n != db.Count || r != db.RelationCount)
                throw new UserInputException($"held-out splits were built for {n} profiles x {r} relations, but the database has {db.Count} x {db.RelationCount}");
            if (fp != FingerprintOf(db))
                throw new UserInputException("held-out splits were built for a different profiles database (relation fingerprint differs)");
            int s = Subjects.Count(r);
            int[] Ints(long bound)
            {
                int len = rd.ReadInt32();
                if (len < 0 || len > bound) throw new UserInputException("held-out splits file is corrupt (bad set size)");
                var a = new int[len];
                for (int i = 0; i < len; i++)
                {
                    a[i] = rd.ReadInt32();
                    if (a[i] < 0 || a[i] >= bound || (i > 0 && a[i] <= a[i - 1])) throw new UserInputException("held-out splits file is corrupt (value out of range or unsorted)");
                }
                return a;
            }
            long[] Longs(long bound)
            {
                int len = rd.ReadInt32();
                if (len < 0 || len > bound) throw new UserInputException("held-out splits file is corrupt (bad set size)");
                var a = new long[len];
                for (int i = 0; i < len; i++)
                {
                    a[i] = rd.ReadInt64();
                    if (a[i] < 0 || a[i] >= bound || (i > 0 && a[i] <= a[i - 1])) throw new UserInputException("held-out splits file is corrupt (value out of range or unsorted)");
                }
                return a;
            }
            var first = Ints(n); var rel = Ints(r); var prp = Longs((long)n * r); var second = Ints(n);
            var attrs = Ints(s); var spap = Longs((long)n * s); var complete = Ints((long)n * r * s);
            var splits = new HeldOutSplits(n, r, seed, f, bigF, fp, first, rel, prp, second, attrs, spap, complete);
            splits.Classify(db);
            foreach (var t in complete)
            {
                if (splits._class[t] != (byte)TupleClass.Available) throw new UserInputException("held-out splits file is corrupt (complete_two_hop tuple is not a training tuple)");
                splits._class[t] = (byte)TupleClass.CompleteTwoHop;
            }
            splits.FinishClasses();
            return splits;
        }
        catch (EndOfStreamException)
        {
            throw new UserInputException("held-out splits file is truncated");
        }
    }

    /// <summary>FNV-1a over N, R and every relation target: which profile each (p, r) points to.</summary>
    public static ulong FingerprintOf(ProfileDatabase db)
    {
        ulong h = 0xcbf29ce484222325UL;
        void Mix(int x)
        {
            for (int i = 0; i < 4; i++) { h ^= (byte)(x >> (8 * i)); h *= 0x100000001b3UL; }
        }
        Mix(db.Count); Mix(db.RelationCount);
        foreach (var col in db.RelationTargets) foreach (var t in col) Mix(t);
        return h;
    }
}
