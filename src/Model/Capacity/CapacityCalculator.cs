using ActorLab.Model.Common;
using ActorLab.Model.Profiles;

namespace ActorLab.Model.Capacity;

/// <summary>Capacity (bits) per subject, in subject-id order, and their sum.</summary>
public sealed record SubjectCapacities(IReadOnlyList<double> PerSubject, double Total);

/// <summary>
/// Turns losses into bits stored (SPEC 5). A model whose loss on subject a is l_a bits has stored (H_a - l_a) bits
/// about each of the N profiles; the selection entropies (which names and birth dates exist at all) are added once,
/// unless the capacity is incremental (counted on top of facts already paid for, as 1-hop facts inside "2.1-hop").
/// All losses here are in bits (divide nats by ln 2: <see cref="NatsToBits"/>).
/// </summary>
public static class CapacityCalculator
{
    public static double NatsToBits(double nats) => nats / Math.Log(2);

    /// <summary>k: R for 2-hop-big-hash at hops 2; 2 for relations under 2-hop-double at hops 2; else 1.</summary>
    public static double Multiplier(CapacityScheme scheme, int hops, bool isRelation, int relations) =>
        hops == 2 && scheme == CapacityScheme.TwoHopBigHash ? relations
        : hops == 2 && scheme == CapacityScheme.TwoHopDouble && isRelation ? 2
        : 1;

    /// <summary>
    /// 2-hop-double: the per-hop loss that, applied twice, gives 2-hop loss <paramref name="lossBits"/> over n
    /// candidates. With p_y = 2^-l the 2-hop success and p_x the per-hop one, p_y = p_x^2 + (1 - p_x)/n, so
    /// p_x = (1/n + sqrt(1/n^2 - 4 (1/n - p_y)))/2. A loss above log2 n (worse than guessing) is clamped to log2 n.
    /// </summary>
    public static double InvertTwoHopLoss(double lossBits, double n)
    {
        if (lossBits > Math.Log2(n)) return Math.Log2(n);
        double py = Math.Pow(2, -lossBits);
        double px = (1 / n + Math.Sqrt(1 / (n * n) - 4 * (1 / n - py))) / 2;
        return -Math.Log2(px);
    }

    /// <summary>
    /// Per-subject form: for each subject a with loss l_a (bits) and entropy H_a,
    /// relation: H_a &gt; l_a ? (H_a - l_a) k N + sel_name/R : (incremental ? 0 : (sel_name - (l_a - H_a) N)/R);
    /// birth_date: the same with sel_date, not divided by R; other attributes: (H_a - l_a) k N (may go negative).
    /// Under 2-hop-double at hops 2 each loss is first inverted to a per-hop loss with n = 2^H_a.
    /// A NaN loss means the subject was not evaluated in that group (e.g. a held-out second attribute is absent from
    /// train_twohop): its capacity is NaN and the total sums the subjects present, as the reference does.
    /// R is the dataset's relation count; the reference's formulas count only the relations present in the group.
    /// </summary>
    public static SubjectCapacities PerSubject(
        DatasetEntropy e, IReadOnlyList<double> lossesBits, int hops, CapacityScheme scheme, bool incremental,
        CapacityFormulas formulas = CapacityFormulas.ActorLab)
    {
        CheckHops(hops);
        if (lossesBits.Count != e.SubjectCount)
            throw new ArgumentException($"need {e.SubjectCount} per-subject losses (4 attributes + {e.Relations} relations), got {lossesBits.Count}");
        double selName = incremental ? 0 : e.NameSelectionEntropy;
        double selDate = incremental ? 0 : e.BirthDateSelectionEntropy;
        int r = formulas == CapacityFormulas.Reference
            ? Enumerable.Range(0, e.SubjectCount).Count(a => Subjects.IsRelation(a) && !double.IsNaN(lossesBits[a]))
            : e.Relations;
        double n = e.N;
        var caps = new double[e.SubjectCount];
        for (int a = 0; a < caps.Length; a++)
        {
            double h = e.SubjectEntropies[a];
            double l = lossesBits[a];
            if (double.IsNaN(l)) { caps[a] = double.NaN; continue; }
            bool isRelation = Subjects.IsRelation(a);
            if (scheme == CapacityScheme.TwoHopDouble && hops == 2)
                l = InvertTwoHopLoss(l, Math.Pow(2, h));
            double k = Multiplier(scheme, hops, isRelation, r);
            if (isRelation)
                caps[a] = h > l ? (h - l) * k * n + selName / r
                    : incremental ? 0 : (selName - (l - h) * n) / r;
            else if (a == 0) // birth_date
                caps[a] = h > l ? (h - l) * k * n + selDate
                    : incremental ? 0 : selDate - (l - h) * n;
            else
                caps[a] = (h - l) * k * n;
        }
        return new SubjectCapacities(caps, caps.Where(c => !double.IsNaN(c)).Sum());
    }

    /// <summary>
    /// Averaged form, for losses without a subject breakdown: with l the mean loss (bits) over S subjects,
    /// sum H &gt; l S ? (sum H - l S) k N + sel_name + sel_date : (incremental ? 0 : sel_name + sel_date - (l S - sum H) N).
    /// 2-hop-double needs per-subject losses (it inverts each subject's loss), so it is refused here, as in the reference.
    /// </summary>
    public static double Averaged(DatasetEntropy e, double meanLossBits, int hops, CapacityScheme scheme, bool incremental)
    {
        CheckHops(hops);
        if (scheme == CapacityScheme.TwoHopDouble)
            throw new UserInputException("Scheme 2-hop-double inverts each subject's 2-hop loss, so it needs per-subject losses: measure with --subjectwise (eval_results_full.csv).");
        double sel = incremental ? 0 : e.NameSelectionEntropy + e.BirthDateSelectionEntropy;
        double sumH = e.SumEntropy;
        double lS = meanLossBits * e.SubjectCount;
        double k = Multiplier(scheme, hops, isRelation: false, e.Relations);
        return sumH > lS ? (sumH - lS) * k * e.N + sel
            : incremental ? 0 : sel - (lS - sumH) * e.N;
    }

    /// <summary>Dataset entropy: the capacity formula at zero loss (per-subject form, so every scheme works).</summary>
    public static double DatasetEntropy(DatasetEntropy e, int hops, CapacityScheme scheme, bool incremental) =>
        PerSubject(e, new double[e.SubjectCount], hops, scheme, incremental).Total;

    /// <summary>What a dataset holds in 1-hop form: zero loss, hops 1, not incremental.</summary>
    public static double DatasetEntropy1Hop(DatasetEntropy e, CapacityScheme scheme) => DatasetEntropy(e, 1, scheme, incremental: false);

    /// <summary>
    /// What its 2-hop answers add: zero loss, hops 2, incremental (names and dates already paid for). The reference's
    /// `dataset_entropy` asks for incremental but its averaged form drops the flag, so there it is not incremental.
    /// </summary>
    public static double DatasetEntropy2Hop(DatasetEntropy e, CapacityScheme scheme, CapacityFormulas formulas = CapacityFormulas.ActorLab) =>
        DatasetEntropy(e, 2, scheme, incremental: formulas == CapacityFormulas.ActorLab);

    /// <summary>
    /// One (mode, step) group's capacity: per subject when it has a loss per subject (NaN = not evaluated), else the
    /// averaged form of its one mean loss. The reference's averaged form never sees `incremental` (its
    /// calculate_capacities does not pass it on); <see cref="CapacityFormulas.Reference"/> keeps that.
    /// </summary>
    public static SubjectCapacities Group(DatasetEntropy e, IReadOnlyList<double> lossesBits, int hops, CapacityScheme scheme, bool incremental,
        CapacityFormulas formulas = CapacityFormulas.ActorLab) =>
        lossesBits.Count == 1
            ? new([], Averaged(e, lossesBits[0], hops, scheme, incremental && formulas == CapacityFormulas.ActorLab))
            : PerSubject(e, lossesBits, hops, scheme, incremental, formulas);

    /// <summary>A group's dataset entropy: its capacity formula at zero loss, over the subjects it has.</summary>
    public static double GroupEntropy(DatasetEntropy e, IReadOnlyList<double> lossesBits, int hops, CapacityScheme scheme, bool incremental,
        CapacityFormulas formulas = CapacityFormulas.ActorLab) =>
        Group(e, ZeroLoss(lossesBits), hops, scheme, incremental, formulas).Total;

    static double[] ZeroLoss(IReadOnlyList<double> lossesBits) => lossesBits.Select(l => double.IsNaN(l) ? double.NaN : 0).ToArray();

    /// <summary>The 1-hop losses 2.1-hop uses: all of them; the reference keeps only the subjects of the 2-hop group.</summary>
    static IReadOnlyList<double> OneHopPart(IReadOnlyList<double> oneHop, IReadOnlyList<double> twoHop, CapacityFormulas formulas) =>
        formulas == CapacityFormulas.Reference && oneHop.Count == twoHop.Count
            ? oneHop.Select((l, a) => double.IsNaN(twoHop[a]) ? double.NaN : l).ToArray()
            : oneHop;

    /// <summary>"2.1-hop": incremental 1-hop capacity (1-hop losses) + 2-hop capacity (2-hop losses), per subject and in total.</summary>
    public static SubjectCapacities TwoPointOneHop(
        DatasetEntropy e, IReadOnlyList<double> oneHopLossesBits, IReadOnlyList<double> twoHopLossesBits, CapacityScheme scheme,
        CapacityFormulas formulas = CapacityFormulas.ActorLab)
    {
        var one = Group(e, OneHopPart(oneHopLossesBits, twoHopLossesBits, formulas), 1, scheme, incremental: true, formulas);
        var two = Group(e, twoHopLossesBits, 2, scheme, incremental: false, formulas);
        // A subject absent from one hop level still counts its other part; absent from both, it stays NaN.
        var sum = one.PerSubject.Zip(two.PerSubject, (a, b) => double.IsNaN(a) ? b : double.IsNaN(b) ? a : a + b).ToArray();
        return new SubjectCapacities(sum, one.Total + two.Total);
    }

    /// <summary>
    /// "2.1-hop" dataset entropy: the same sum at zero loss. The reference's is its incremental 1-hop part alone
    /// (so its 2.1-hop capacity can exceed its "entropy").
    /// </summary>
    public static double TwoPointOneHopEntropy(
        DatasetEntropy e, IReadOnlyList<double> oneHopLossesBits, IReadOnlyList<double> twoHopLossesBits, CapacityScheme scheme,
        CapacityFormulas formulas = CapacityFormulas.ActorLab) =>
        formulas == CapacityFormulas.Reference
            ? GroupEntropy(e, OneHopPart(oneHopLossesBits, twoHopLossesBits, formulas), 1, scheme, incremental: true, formulas)
            : TwoPointOneHop(e, ZeroLoss(oneHopLossesBits), ZeroLoss(twoHopLossesBits), scheme).Total;

    static void CheckHops(int hops)
    {
        if (hops is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(hops), "hops is 1 or 2 (2.1-hop is TwoPointOneHop)");
    }
}
