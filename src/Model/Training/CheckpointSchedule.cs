namespace ActorLab.Model.Training;

/// <summary>
/// When to evaluate and checkpoint (SPEC 4): a log-spaced list {int(exp(x)) : x in linspace(ln first, ln last, count)},
/// then every <see cref="Every"/> steps at step % Every == <see cref="Offset"/>. Sweeps with short runs give their own
/// list or a scaled log schedule.
/// </summary>
public sealed record CheckpointSchedule(IReadOnlyList<long> Steps, long Every, long Offset)
{
    /// <summary>The reference: 100, 215, 464, 1000, 2154, 4641, 10000, 21544, 46415, 100000, then step % 100000 == 1.</summary>
    public static CheckpointSchedule Reference { get; } = Log(100, 100000, 10, 100000, 1);

    public static CheckpointSchedule Log(long first, long last, int count, long every = 0, long offset = 0)
    {
        if (first < 1 || last < first || count < 1) throw new ArgumentException("log schedule needs 1 <= first <= last and count >= 1");
        var steps = new SortedSet<long>();
        for (int i = 0; i < count; i++)
        {
            var x = count == 1 ? Math.Log(first) : Math.Log(first) + (Math.Log(last) - Math.Log(first)) * i / (count - 1);
            // int(exp(x)) as in numpy, with a tolerance so exp(ln 1000) = 999.9999... still gives 1000.
            steps.Add((long)Math.Floor(Math.Exp(x) * (1 + 1e-12)));
        }
        return new CheckpointSchedule(steps.ToArray(), every, offset);
    }

    public static CheckpointSchedule Explicit(IEnumerable<long> steps, long every = 0, long offset = 0) =>
        new(steps.Distinct().Order().ToArray(), every, offset);

    /// <summary>Equal schedules have equal steps (a list compares by its values, not by reference).</summary>
    public bool Equals(CheckpointSchedule? other) =>
        other is not null && Every == other.Every && Offset == other.Offset && Steps.SequenceEqual(other.Steps);

    public override int GetHashCode() => HashCode.Combine(Every, Offset, Steps.Count, Steps.Count > 0 ? Steps[^1] : 0);

    public bool IsDue(long step)
    {
        if (Steps.Contains(step)) return true;
        var last = Steps.Count > 0 ? Steps[^1] : 0;
        return Every > 0 && step > last && step % Every == Offset;
    }

    /// <summary>At most this many scheduled steps (a log schedule's COUNT included).</summary>
    public const int MaxSteps = 100_000;

    /// <summary>
    /// Parses "100,215,464" (positive, strictly increasing) or "log:FIRST:LAST:COUNT[:EVERY]" (1 &lt;= FIRST &lt;= LAST,
    /// 1 &lt;= COUNT &lt;= <see cref="MaxSteps"/>, EVERY &gt;= 0). Anything else, unsorted or repeated steps included, is
    /// refused: a schedule the user did not mean would silently evaluate at other steps.
    /// </summary>
    public static CheckpointSchedule Parse(string text)
    {
        Common.UserInputException Bad(string why) =>
            new($"--checkpoint-steps '{text}': {why}; expected '100,200,500' or 'log:FIRST:LAST:COUNT[:EVERY]'");
        long Number(string part) =>
            long.TryParse(part, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var v)
                ? v : throw Bad($"'{part}' is not a whole number");
        if (text.StartsWith("log:"))
        {
            var p = text[4..].Split(':').Select(x => Number(x.Trim())).ToArray();
            if (p.Length is < 3 or > 4) throw Bad("a log schedule has 3 or 4 numbers");
            if (p[0] < 1 || p[1] < p[0]) throw Bad("a log schedule needs 1 <= FIRST <= LAST");
            if (p[2] < 1 || p[2] > MaxSteps) throw Bad($"COUNT must be in 1..{MaxSteps}");
            if (p.Length == 4 && p[3] < 0) throw Bad("EVERY must be >= 0");
            return Log(p[0], p[1], (int)p[2], p.Length == 4 ? p[3] : 0, p.Length == 4 ? 1 : 0);
        }
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts.All(x => x.Length == 0)) throw Bad("no steps");
        if (parts.Length > MaxSteps) throw Bad($"more than {MaxSteps} steps");
        var steps = parts.Select(Number).ToArray();
        for (int i = 0; i < steps.Length; i++)
        {
            if (steps[i] < 1) throw Bad($"step {steps[i]} is not positive");
            if (i > 0 && steps[i] <= steps[i - 1]) throw Bad($"steps must increase ({steps[i - 1]} then {steps[i]})");
        }
        return Explicit(steps);
    }
}
