using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using C = ActorLab.Model.Qa.HeldOutSplits.TupleClass;

namespace ActorLab.Model.Tests.Qa;

public class HeldOutSplitsTests
{
    static readonly Lazy<ProfileDatabase> Db = new(() => TestProfiles.Create(1500, relations: 17, seed: 2));

    static long Expected(double x) => Math.Max(1, (long)x);

    [Fact]
    public void Set_sizes_follow_the_spec_formulas()
    {
        var db = Db.Value;
        var sp = HeldOutSplits.Build(db, seed: 4);
        int n = db.Count, r = db.RelationCount;
        var counts = sp.Counts().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(Expected(n * 0.02), counts["first_people"]);
        Assert.Equal(Expected(r * 0.02), counts["relations"]);
        Assert.Equal(Expected(n * r * 0.02), counts["person_relation_pairs"]);
        Assert.Equal(Expected(n * 0.02), counts["second_people"]);
        Assert.Equal(Expected(4 * 0.02), counts["second_attributes"]);
        Assert.Equal(Expected(n * 4 * 0.02), counts["second_person_attribute_pairs"]);
        Assert.Equal(Expected(n * r * 4 * 0.1), counts["complete_two_hop_tuples"]);
        Assert.Equal(
        [
            "first_people", "relations", "person_relation_pairs", "second_people", "second_attributes",
            "second_person_attribute_pairs", "relations_tuples", "second_attribute_tuples", "person_relation_tuples",
            "second_people_tuples", "second_person_attribute_tuples", "complete_two_hop_tuples", "available_training_tuples",
        ], sp.Counts().Select(kv => kv.Key));
        // Held-out second attributes are subjects (attributes or relations), the pairs range over all N x S pairs.
        Assert.All(sp.SecondAttributes, a => Assert.InRange(a, 0, Subjects.Count(r) - 1));
        Assert.All(sp.SecondPersonAttributePairs, x => Assert.InRange(x, 0, (long)n * Subjects.Count(r) - 1));
    }

    [Fact]
    public void Second_attributes_are_drawn_from_all_subjects_so_at_r17_usually_a_relation()
    {
        // The reference samples second_attributes from ATTRIBUTES + relations: at R = 17 one subject of 21, a
        // relation with probability 17/21. Over 60 seeds both kinds must turn up (all-attribute: (4/21)^60).
        var db = TestProfiles.Create(50, relations: 17, seed: 5);
        int relations = 0, attributes = 0;
        for (int seed = 0; seed < 60; seed++)
        {
            var sp = HeldOutSplits.Build(db, seed);
            Assert.Single(sp.SecondAttributes); // max(1, int(4 * 0.02)) = 1
            if (Subjects.IsRelation(sp.SecondAttributes[0])) relations++; else attributes++;
            // a held-out relation subject is peeled like any other: no training tuple asks it
            Assert.True(sp.CountOf(C.SecondAttributes) > 0);
        }
        Assert.True(relations > 0 && attributes > 0, $"{relations} relation and {attributes} attribute second attributes");
        Assert.InRange(relations, 35, 58); // 60 * 17/21 = 48.6
    }

    [Fact]
    public void Every_tuple_is_in_exactly_the_class_the_peel_order_gives()
    {
        var db = Db.Value;
        var sp = HeldOutSplits.Build(db, seed: 4);
        int n = db.Count, r = db.RelationCount, s = Subjects.Count(r);
        var fp = sp.FirstPeople.ToHashSet(); var rel = sp.HeldRelations.ToHashSet(); var attr = sp.SecondAttributes.ToHashSet();
        var prp = sp.PersonRelationPairs.ToHashSet(); var sec = sp.SecondPeople.ToHashSet(); var spap = sp.SecondPersonAttributePairs.ToHashSet();
        var complete = sp.TuplesOf(C.CompleteTwoHop).ToArray().ToHashSet();
        var tally = new long[8];
        for (int p = 0; p < n; p++)
            for (int q = 0; q < r; q++)
                for (int a = 0; a < s; a++)
                {
                    int second = db.Related(q, p);
                    int id = sp.TupleId(p, q, a);
                    C expected =
                        fp.Contains(p) ? C.FirstPeople :
                        rel.Contains(q) ? C.Relations :
                        attr.Contains(a) ? C.SecondAttributes :
                        prp.Contains((long)p * r + q) ? C.PersonRelation :
                        sec.Contains(second) ? C.SecondPeople :
                        spap.Contains((long)second * s + a) ? C.SecondPersonAttribute :
                        complete.Contains(id) ? C.CompleteTwoHop : C.Available;
                    Assert.Equal(expected, sp.ClassOf(p, q, a));
                    Assert.Equal((p, q, a), sp.Decode(id));
                    tally[(int)expected]++;
                }
        var counts = sp.Counts().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(tally[(int)C.Relations], counts["relations_tuples"]);
        Assert.Equal(tally[(int)C.SecondAttributes], counts["second_attribute_tuples"]);
        Assert.Equal(tally[(int)C.PersonRelation], counts["person_relation_tuples"]);
        Assert.Equal(tally[(int)C.SecondPeople], counts["second_people_tuples"]);
        Assert.Equal(tally[(int)C.SecondPersonAttribute], counts["second_person_attribute_tuples"]);
        Assert.Equal(tally[(int)C.Available], counts["available_training_tuples"]);
        Assert.Equal((long)n * r * s, tally.Sum());
        // Each peeled set is non-trivial at this size, so the check above exercises every branch.
        Assert.All(tally, t => Assert.True(t > 0));
    }

    [Fact]
    public void Same_seed_same_split_other_seed_other_split()
    {
        var db = Db.Value;
        var a = HeldOutSplits.Build(db, 4);
        var b = HeldOutSplits.Build(db, 4);
        var c = HeldOutSplits.Build(db, 5);
        Assert.Equal(Bytes(a), Bytes(b));
        Assert.NotEqual(Bytes(a), Bytes(c));
        Assert.NotEqual(a.FirstPeople, c.FirstPeople);
    }

    static byte[] Bytes(HeldOutSplits s)
    {
        var ms = new MemoryStream();
        s.WriteTo(ms);
        return ms.ToArray();
    }

    [Fact]
    public void Round_trip_restores_every_class_and_rejects_another_database()
    {
        var db = Db.Value;
        var a = HeldOutSplits.Build(db, 4);
        var b = HeldOutSplits.ReadFrom(new MemoryStream(Bytes(a)), db);
        Assert.Equal(a.Counts(), b.Counts());
        for (int t = 0; t < a.TupleCount; t++) Assert.Equal(a.ClassOf(t), b.ClassOf(t));

        var other = TestProfiles.Create(1500, relations: 17, seed: 3);
        var e = Assert.Throws<UserInputException>(() => HeldOutSplits.ReadFrom(new MemoryStream(Bytes(a)), other));
        Assert.Contains("different profiles database", e.Message);
        var smaller = TestProfiles.Create(200, relations: 17, seed: 2);
        e = Assert.Throws<UserInputException>(() => HeldOutSplits.ReadFrom(new MemoryStream(Bytes(a)), smaller));
        Assert.Contains("1500 profiles", e.Message);
        var bytes = Bytes(a);
        e = Assert.Throws<UserInputException>(() => HeldOutSplits.ReadFrom(new MemoryStream(bytes[..(bytes.Length / 2)]), db));
        Assert.Contains("truncated", e.Message);
        e = Assert.Throws<UserInputException>(() => HeldOutSplits.ReadFrom(new MemoryStream(new byte[64]), db));
        Assert.Contains("header", e.Message);
    }

    [Fact]
    public void Sampling_stays_inside_each_modes_set_and_covers_it()
    {
        var db = TestProfiles.Create(200, relations: 4, seed: 8);
        var sp = HeldOutSplits.Build(db, 1);
        var rng = new QaRandom(42);
        foreach (var mode in EvalModes.All.Where(m => m.IsTwoHop()))
        {
            var seen = new HashSet<int>();
            for (int i = 0; i < 20_000; i++)
            {
                var (p, r, a) = sp.Sample(mode, ref rng);
                var cls = sp.ClassOf(p, r, a);
                if (mode == EvalMode.EvalFirstPeople)
                {
                    Assert.Equal(C.FirstPeople, cls);
                    Assert.DoesNotContain(r, sp.HeldRelations);
                    Assert.DoesNotContain(a, sp.SecondAttributes);
                }
                else Assert.Equal(HeldOutSplits.ClassOf(mode), cls);
                seen.Add(sp.TupleId(p, r, a));
            }
            var cls0 = HeldOutSplits.ClassOf(mode);
            if (cls0 is { } c && c != C.Available && sp.CountOf(c) <= 2000)
                Assert.Equal(sp.CountOf(c), seen.Count); // 20000 draws cover a set of <= 2000 (uniformity smoke check)
        }
    }

    [Fact]
    public void Training_tuples_are_uniform_over_the_available_set()
    {
        var db = TestProfiles.Create(30, relations: 2, seed: 8);
        var sp = HeldOutSplits.Build(db, 1);
        long available = sp.CountOf(C.Available);
        var hits = new Dictionary<int, int>();
        var rng = new QaRandom(7);
        int draws = (int)available * 200;
        for (int i = 0; i < draws; i++)
        {
            var (p, r, a) = sp.Sample(EvalMode.TrainTwohop, ref rng);
            int id = sp.TupleId(p, r, a);
            hits[id] = hits.GetValueOrDefault(id) + 1;
        }
        Assert.Equal(available, hits.Count);
        // Each count ~ Binomial(draws, 1/available): mean 200, sd ~14; 6 sd bounds.
        Assert.All(hits.Values, h => Assert.InRange(h, 200 - 85, 200 + 85));
    }
}
