using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Configuration.Hocon;
using ActorLab.Actors.Config;
using ActorLab.Model.Capacity;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Training;
using AkkaConfig = Akka.Configuration.Config;

namespace ActorLab.Actors.Sweeps;

/// <summary>
/// Reads a HOCON sweep file strictly, before anything runs: the file holds one `sweep { }` block whose keys
/// must exist in `actorlab.sweep-defaults` (hocon/actorlab.conf), with the right type and a possible value.
/// Every error names the HOCON path of the culprit, e.g. `sweep.grid.relations[1]: 18 is not in 1..17`.
/// </summary>
public static class SweepFile
{
    const string DefaultsPath = "actorlab.sweep-defaults";

    /// <summary>
    /// Most runs one sweep may make (the product of its grid lists): a grid above it is refused with its count before
    /// anything is planned, since planning, journalling and listing grow with the runs.
    /// </summary>
    public const long MaxRuns = 100_000;

    public static SweepDefinition Load(string path)
    {
        PathChecks.InputFile("FILE", path, "sweep file");
        if (new FileInfo(path).Length > HoconLint.MaxBytes)
            throw new UserInputException($"Sweep file '{path}' has {new FileInfo(path).Length:N0} bytes; a sweep file has at most {HoconLint.MaxBytes:N0}.");
        return Parse(File.ReadAllText(path), path);
    }

    public static SweepDefinition Parse(string text, string source = "<sweep>")
    {
        var file = ActorLabConfig.ParseText(text, source);
        var root = file.Root;
        if (root.IsEmpty || !root.IsObject())
            throw new UserInputException($"{source}: expected a `sweep {{ ... }}` block.");
        foreach (var key in root.GetObject().Items.Keys)
            if (key != "sweep")
                throw new UserInputException($"{source}: {key}: unknown key (a sweep file holds one `sweep {{ }}` block).");
        var sweepValue = root.GetObject().Items.GetValueOrDefault("sweep");
        if (sweepValue == null || !sweepValue.IsObject())
            throw new UserInputException($"{source}: sweep: expected an object `sweep {{ ... }}`.");

        var defaults = ActorLabConfig.Defaults.GetConfig(DefaultsPath);
        CheckKeys(sweepValue.GetObject(), defaults.Root.GetObject(), "sweep", source);
        var merged = file.GetConfig("sweep").WithFallback(defaults);
        var r = new Reader(merged, source);

        var name = r.String("name");
        if (name.Length == 0) throw r.Error("name", "a sweep needs a name");
        if (!Regex.IsMatch(name, "^[A-Za-z0-9_-]{1,64}$"))
            throw r.Error("name", $"'{name}' may only use letters, digits, '-' and '_' (1..64 characters)");

        var targetBits = r.DoubleList("grid.target-bits", min: 1, allowEmpty: true);
        var nProfiles = r.IntList("grid.n-profiles", min: 2, max: 100_000_000, allowEmpty: true);
        if (targetBits.IsEmpty == nProfiles.IsEmpty)
            throw r.Error("grid", "give exactly one of target-bits (N is solved) or n-profiles");

        var orders = r.OrdersList("grid.orders");
        var layers = r.IntList("grid.layers", min: 1, max: RunLimits.MaxLayers);
        var budgets = r.LongList("grid.param-budgets", min: 320_000 + 12 * 16 * 16 + 1, max: RunLimits.MaxParamBudget);
        var relations = r.IntList("grid.relations", min: 1, max: RelationNames.All.Count);
        var seeds = r.IntList("grid.seeds", min: 0);
        double runs = (double)relations.Length * Math.Max(targetBits.Length, nProfiles.Length) * layers.Length * budgets.Length * orders.Length * seeds.Length;
        if (runs > MaxRuns)
            throw r.Error("grid", $"the grid makes {runs:N0} runs, more than the {MaxRuns:N0} a sweep may have; split it into several sweeps");
        var optimizer = r.OneOf("optimizer.name", "schedulefree", "adamw");
        var schedule = r.OneOf("optimizer.schedule", "cosine", "linear");
        var evalSteps = r.EvalSteps("eval.steps");
        var template = new RunConfig
        {
            RunName = "",
            NProfiles = 0,
            Relations = 0,
            NParams = 0,
            ParamBudget = 0,
            Layers = 0,
            MinOrder = 1,
            MaxOrder = 1,
            HopRatio = r.Double("hop-ratio", minExclusive: 0, max: 1),
            Optimizer = optimizer == "schedulefree" ? "schedulefree" : $"adamw_{schedule}",
            Lr = r.Double("optimizer.lr", minExclusive: 0, max: RunLimits.MaxLr),
            Beta1 = r.Double("optimizer.beta1", minExclusive: 0, maxExclusive: 1),
            Beta2 = r.Double("optimizer.beta2", minExclusive: 0, maxExclusive: 1),
            WeightDecay = r.Double("optimizer.weight-decay", min: 0, max: RunLimits.MaxWeightDecay),
            WarmupSteps = r.Int("optimizer.warmup-steps", min: 0),
            BatchSize = r.Int("batch-size", min: 1, max: RunLimits.MaxBatchSize),
            SeqLen = r.Int("seq-len", min: 16, max: RunLimits.MaxSeqLen),
            MaxSteps = r.Long("max-steps", min: 1),
            Curriculum = r.Bool("curriculum"),
            Cot = r.Bool("cot"),
            Convergence = new ConvergenceSettings(r.Bool("convergence.enabled"), r.Long("convergence.min-step", min: 0),
                r.Double("convergence.threshold", minExclusive: 0, max: 1)),
            EvalSchedule = evalSteps.IsEmpty ? CheckpointSchedule.Reference : CheckpointSchedule.Explicit(evalSteps),
            EvalQuestions = r.Int("eval.questions", min: 1, max: RunLimits.MaxEvalQuestions),
            CheckpointEvery = r.Long("checkpoint.every", min: 1),
            KeepLast = r.Int("checkpoint.keep-last", min: 1),
            DataParallel = r.Int("data-parallel", min: 1, max: 64),
        };
        var listsDir = r.String("lists-dir");
        var measure = new SweepMeasure
        {
            Schemes = r.NamesList("measure.schemes", Schemes.ParseScheme),
            SelectionSchemes = r.NamesList("measure.selection-schemes", Schemes.ParseSelection),
            Subjectwise = r.Bool("measure.subjectwise"),
            Hops = r.HopsList("measure.hops"),
        };
        if (measure.Schemes.Contains(CapacityScheme.TwoHopDouble) && !measure.Subjectwise)
            throw r.Error("measure.schemes", "2-hop-double inverts each subject's 2-hop loss, so it needs per-subject losses: set sweep.measure.subjectwise = true");
        var subjectwiseEvals = r.OneOf("eval.subjectwise", "auto", "on", "off") switch { "on" => true, "off" => false, _ => measure.Subjectwise };
        if (measure.Subjectwise && !subjectwiseEvals)
            throw r.Error("eval.subjectwise", "off, but measure.subjectwise needs the per-subject losses of subject-wise evals (auto or on)");
        template = template with { SubjectwiseEvals = subjectwiseEvals };

        return new SweepDefinition
        {
            Name = name,
            Layers = layers,
            ParamBudgets = budgets,
            Relations = relations,
            TargetBits = targetBits,
            NProfiles = nProfiles,
            Orders = orders,
            Seeds = seeds,
            Bipartite = r.Bool("bipartite"),
            DatasetSeed = r.Int("dataset-seed", min: 0),
            VocabSize = r.Int("vocab-size", min: 300, max: Model.Qa.QaTokenizer.MaxVocabSize),
            ListsDir = listsDir.Length == 0 ? null : CheckListsDir(listsDir, source),
            Template = template,
            Measure = measure,
            AllowCrossNode = r.Bool("allow-cross-node"),
        };
    }

    static string CheckListsDir(string dir, string source)
    {
        if (!Directory.Exists(dir)) throw new UserInputException($"{source}: sweep.lists-dir: folder '{dir}' does not exist.");
        return Path.GetFullPath(dir);
    }

    /// <summary>Every key the user wrote must exist in the defaults; objects must stay objects.</summary>
    static void CheckKeys(HoconObject user, HoconObject defaults, string path, string source)
    {
        foreach (var (key, value) in user.Items)
        {
            var keyPath = $"{path}.{key}";
            if (!defaults.Items.TryGetValue(key, out var def))
                throw new UserInputException(
                    $"{source}: {keyPath}: unknown key (known here: {string.Join(", ", defaults.Items.Keys)}).");
            // `[]` is a value (an empty list), though Akka prints it as unknown
            if (!Config.ConfigValues.IsEmptyList(value) && (value.Values.Count == 0 || value.ToString() == "<<unknown value>>"))
                throw new UserInputException($"{source}: {keyPath}: missing value.");
            if (def.IsObject())
            {
                if (!value.IsObject())
                    throw new UserInputException($"{source}: {keyPath}: expected an object {{ ... }}.");
                CheckKeys(value.GetObject(), def.GetObject(), keyPath, source);
            }
            else if (value.IsObject())
                throw new UserInputException($"{source}: {keyPath}: expected a value, not an object.");
        }
    }

    /// <summary>Typed, range-checked reads whose errors carry the HOCON path.</summary>
    sealed class Reader(AkkaConfig config, string source)
    {
        public UserInputException Error(string path, string what) => new($"{source}: sweep.{path}: {what}.");

        HoconValue Value(string path) =>
            config.GetValue(path) ?? throw Error(path, "missing");

        // Akka's HOCON reports `[]` as neither array nor string: a value made of one element-less array.
        static bool IsEmptyList(HoconValue v) => Config.ConfigValues.IsEmptyList(v);

        string Scalar(string path)
        {
            var v = Value(path);
            if (v.IsArray() || IsEmptyList(v)) throw Error(path, "expected a single value, not a list");
            return v.GetString() ?? throw Error(path, "expected a value, got null");
        }

        public string String(string path) => Scalar(path);

        public string OneOf(string path, params string[] allowed)
        {
            var s = Scalar(path);
            if (!allowed.Contains(s)) throw Error(path, $"'{s}' is not one of {string.Join(", ", allowed)}");
            return s;
        }

        public bool Bool(string path)
        {
            var s = Scalar(path);
            return s switch
            {
                "true" or "on" or "yes" => true,
                "false" or "off" or "no" => false,
                _ => throw Error(path, $"expected true or false, got '{s}'"),
            };
        }

        double ParseNumber(string path, string s) =>
            double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
                ? d
                : throw Error(path, $"expected a number, got '{s}'");

        long ParseInteger(string path, string s)
        {
            var d = ParseNumber(path, s);
            if (d != Math.Floor(d) || Math.Abs(d) > 9e15) throw Error(path, $"expected a whole number, got '{s}'");
            return (long)d;
        }

        static string Range(double? min, double? max) =>
            (min, max) switch
            {
                (not null, not null) => $"in {min}..{max}",
                (not null, null) => $"at least {min}",
                (null, not null) => $"at most {max}",
                _ => "",
            };

        long CheckRange(string path, long v, long min, long max) =>
            v < min || v > max ? throw Error(path, $"{v} is not {Range(min, max == long.MaxValue ? null : max)}") : v;

        public long Long(string path, long min = long.MinValue, long max = long.MaxValue) =>
            CheckRange(path, ParseInteger(path, Scalar(path)), min, max);

        public int Int(string path, int min = int.MinValue, int max = int.MaxValue) =>
            (int)CheckRange(path, ParseInteger(path, Scalar(path)), min, max);

        public double Double(string path, double? min = null, double? max = null, double? minExclusive = null, double? maxExclusive = null) =>
            CheckDouble(path, ParseNumber(path, Scalar(path)), min, max, minExclusive, maxExclusive);

        double CheckDouble(string path, double v, double? min, double? max, double? minExclusive, double? maxExclusive)
        {
            if (min is { } a && v < a) throw Error(path, $"{v} is below {a}");
            if (max is { } b && v > b) throw Error(path, $"{v} is above {b}");
            if (minExclusive is { } c && v <= c) throw Error(path, $"{v} must be above {c}");
            if (maxExclusive is { } e && v >= e) throw Error(path, $"{v} must be below {e}");
            return v;
        }

        IList<HoconValue> List(string path, bool allowEmpty)
        {
            var v = Value(path);
            if (IsEmptyList(v)) return allowEmpty ? [] : throw Error(path, "the list is empty");
            if (!v.IsArray()) throw Error(path, $"expected a list [ ... ], got '{(v.IsString() ? v.GetString() : "an object")}'");
            var items = v.GetArray();
            if (items.Count == 0 && !allowEmpty) throw Error(path, "the list is empty");
            return items;
        }

        string Item(string path, int i, HoconValue v) =>
            v.IsString() ? v.GetString() : throw Error($"{path}[{i}]", "expected a single value");

        public ImmutableArray<long> LongList(string path, long min = long.MinValue, long max = long.MaxValue, bool allowEmpty = false) =>
            List(path, allowEmpty).Select((v, i) => CheckRange($"{path}[{i}]", ParseInteger($"{path}[{i}]", Item(path, i, v)), min, max))
                .ToImmutableArray();

        public ImmutableArray<int> IntList(string path, int min = int.MinValue, int max = int.MaxValue, bool allowEmpty = false) =>
            LongList(path, min, max, allowEmpty).Select(x => (int)x).ToImmutableArray();

        public ImmutableArray<double> DoubleList(string path, double min, bool allowEmpty) =>
            List(path, allowEmpty).Select((v, i) => CheckDouble($"{path}[{i}]", ParseNumber($"{path}[{i}]", Item(path, i, v)), min, null, null, null))
                .ToImmutableArray();

        /// <summary>A non-empty list of names, each parsed by <paramref name="parse"/> (whose message names the allowed ones), no repeats.</summary>
        public ImmutableArray<T> NamesList<T>(string path, Func<string, T> parse)
        {
            var items = List(path, allowEmpty: false);
            var result = new List<T>();
            for (var i = 0; i < items.Count; i++)
            {
                T value;
                try { value = parse(Item(path, i, items[i])); }
                catch (UserInputException e) { throw Error($"{path}[{i}]", e.Message.TrimEnd('.')); }
                if (result.Contains(value)) throw Error($"{path}[{i}]", $"'{Item(path, i, items[i])}' is listed twice");
                result.Add(value);
            }
            return [.. result];
        }

        /// <summary>Hop levels 1, 2 or 2.1; [] allowed.</summary>
        public ImmutableArray<double> HopsList(string path) =>
            List(path, allowEmpty: true).Select((v, i) =>
            {
                var p = $"{path}[{i}]";
                var h = ParseNumber(p, Item(path, i, v));
                return h is 1 or 2 or 2.1 ? h : throw Error(p, $"{Item(path, i, v)} is not a hop level (1, 2 or 2.1)");
            }).Distinct().ToImmutableArray();

        public ImmutableArray<ImmutableArray<int>> OrdersList(string path)
        {
            var result = ImmutableArray.CreateBuilder<ImmutableArray<int>>();
            var items = List(path, allowEmpty: false);
            for (var i = 0; i < items.Count; i++)
            {
                var p = $"{path}[{i}]";
                if (IsEmptyList(items[i])) throw Error(p, "the list is empty");
                if (!items[i].IsArray()) throw Error(p, "expected a list of orders such as [1] or [1, 2]");
                var orders = items[i].GetArray().Select((v, j) => (int)CheckRange($"{p}[{j}]", ParseInteger($"{p}[{j}]", Item(p, j, v)), 1, 2))
                    .ToImmutableArray();
                if (RunLimits.OrdersProblem(orders) is { } problem) throw Error(p, problem);
                result.Add(orders.Sort());
            }
            return result.ToImmutable();
        }

        public ImmutableArray<long> EvalSteps(string path)
        {
            var v = Value(path);
            if (!v.IsArray())
            {
                var s = v.GetString();
                if (s == "spec") return ImmutableArray<long>.Empty;
                throw Error(path, $"expected \"spec\" or a list of steps, got '{s}'");
            }
            var steps = LongList(path, min: 1);
            for (var i = 1; i < steps.Length; i++)
                if (steps[i] <= steps[i - 1]) throw Error($"{path}[{i}]", "steps must increase");
            return steps;
        }
    }
}
