using System.Globalization;
using System.Text.RegularExpressions;
using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Model.Capacity;

/// <summary>What `measure` needs to know about a run: from its run.json, or parsed from a reference run name.</summary>
public sealed record RunInfo
{
    public required string Name { get; init; }
    public required string Dir { get; init; }
    public required int NProfiles { get; init; }
    public required int Relations { get; init; }
    public required long NParams { get; init; }
    public required int Layers { get; init; }
    public required int MinOrder { get; init; }
    public required int MaxOrder { get; init; }
    public required double WeightDecay { get; init; }
    /// <summary>The profiles file from run.json; null for reference runs (looked up by name, see <see cref="CapacityMeasurement"/>).</summary>
    public string? Profiles { get; init; }
    public bool Bipartite { get; init; }
    /// <summary>True when read from run.json, false when parsed from the directory name.</summary>
    public bool FromConfig { get; init; }
}

/// <summary>One row of eval_results.csv / eval_results_full.csv. <see cref="Subject"/> is -1 in eval_results.csv.</summary>
public readonly record struct EvalRow(EvalMode Mode, long Step, double Loss, double ParameterL2, int Subject);

/// <summary>A run's config and eval rows, plus what was odd about its files (reported, not fatal).</summary>
public sealed record RunResults(RunInfo Info, IReadOnlyList<EvalRow> Rows, IReadOnlyList<EvalRow> OverallRows, IReadOnlyList<string> Warnings);

/// <summary>
/// Reads the results layout (SPEC 4): <c>&lt;results&gt;/.../&lt;run_name&gt;/eval_results.csv</c> (+ eval_results_full.csv
/// with a subject column, + run.json from ActorLab's trainer). Reference results are accepted as they are: no run.json
/// (the config is parsed from the run name), any column order, extra columns (pandas' unnamed index), an old layout
/// without a mode column (rows alternate train_onehop, train_twohop), and rows whose mode is a number (a known
/// reference glitch) are dropped with a warning.
/// </summary>
public static partial class ResultsReader
{
    public const string EvalFile = "eval_results.csv";
    public const string EvalFullFile = "eval_results_full.csv";

    /// <summary>The reference run name (SPEC 4); a missing _r means the reference's default 4 relations.</summary>
    [GeneratedRegex(@"^(?:mup_)?n(?<n>\d+)_p(?<p>\d+)_omin(?<omin>\d+)_omax(?<omax>\d+)_wd(?<wd>[0-9.eE+-]+?)_l(?<l>\d+)_lr(?<lr>[0-9.eE+-]+?)_beta1(?<b1>[0-9.]+?)_(?<opt>sf|adamw-linear|adamw-cosine|adamw)(?:_r(?<r>\d+))?(?:_hr(?<hr>[0-9.]+))?(?<curr>_curr)?(?<cot>_cot)?$")]
    private static partial Regex RunNameRegex();

    /// <summary>Relations of a reference run without _r: its profiles_dataset_{N}_uniform has the first 4.</summary>
    public const int ReferenceDefaultRelations = 4;

    public static RunInfo ParseRunName(string name, string dir)
    {
        var m = RunNameRegex().Match(name);
        if (!m.Success)
            throw new UserInputException(
                $"Run '{dir}' has no {RunConfig.FileName} and its name '{name}' is not a reference run name " +
                "(mup_n{N}_p{params}_omin{min}_omax{max}_wd{wd}_l{L}_lr{lr}_beta1{b1}_{sf|adamw}[_r{R}][_hr{h}][_curr][_cot]).");
        int relations = m.Groups["r"].Success ? int.Parse(m.Groups["r"].Value, CultureInfo.InvariantCulture) : ReferenceDefaultRelations;
        if (relations is < 1 or > RelationNames.Max)
            throw new UserInputException($"Run '{dir}': _r{relations} is outside 1..{RelationNames.Max}.");
        return new RunInfo
        {
            Name = name,
            Dir = dir,
            NProfiles = int.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture),
            NParams = long.Parse(m.Groups["p"].Value, CultureInfo.InvariantCulture),
            MinOrder = int.Parse(m.Groups["omin"].Value, CultureInfo.InvariantCulture),
            MaxOrder = int.Parse(m.Groups["omax"].Value, CultureInfo.InvariantCulture),
            WeightDecay = double.Parse(m.Groups["wd"].Value, CultureInfo.InvariantCulture),
            Layers = int.Parse(m.Groups["l"].Value, CultureInfo.InvariantCulture),
            Relations = relations,
            FromConfig = false,
        };
    }

    /// <summary>The run's config: run.json if there is one, else its directory name.</summary>
    public static RunInfo ReadInfo(string dir)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(dir));
        if (!File.Exists(Path.Combine(dir, RunConfig.FileName))) return ParseRunName(name, dir);
        var c = RunConfig.Load(dir);
        if (c.NProfiles < 1) throw new UserInputException($"{Path.Combine(dir, RunConfig.FileName)}: n_profiles must be positive, got {c.NProfiles}.");
        if (c.Relations is < 1 or > RelationNames.Max)
            throw new UserInputException($"{Path.Combine(dir, RunConfig.FileName)}: relations must be 1..{RelationNames.Max}, got {c.Relations}.");
        return new RunInfo
        {
            Name = string.IsNullOrEmpty(c.RunName) ? name : c.RunName,
            Dir = dir,
            NProfiles = c.NProfiles,
            Relations = c.Relations,
            NParams = c.NParams,
            Layers = c.Layers,
            MinOrder = c.MinOrder,
            MaxOrder = c.MaxOrder,
            WeightDecay = c.WeightDecay,
            Profiles = string.IsNullOrEmpty(c.Profiles) ? null : c.Profiles,
            Bipartite = c.Bipartite,
            FromConfig = true,
        };
    }

    /// <summary>Every directory under <paramref name="root"/> (itself included) holding eval_results.csv or eval_results_full.csv, sorted.</summary>
    public static IReadOnlyList<string> DiscoverRuns(string root)
    {
        if (!Directory.Exists(root)) throw new UserInputException($"Results folder '{root}' does not exist.");
        var found = new List<string>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MaxRecursionDepth = 8 };
        if (File.Exists(Path.Combine(root, EvalFile)) || File.Exists(Path.Combine(root, EvalFullFile))) found.Add(Path.GetFullPath(root));
        foreach (var d in Directory.EnumerateDirectories(root, "*", options))
            if (File.Exists(Path.Combine(d, EvalFile)) || File.Exists(Path.Combine(d, EvalFullFile)))
                found.Add(Path.GetFullPath(d));
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    /// <summary>Reads a run: config, eval_results.csv and (when <paramref name="subjectwise"/>) eval_results_full.csv.</summary>
    public static RunResults ReadRun(string dir, bool subjectwise) => ReadRun(ReadInfo(dir), subjectwise);

    /// <summary>Reads a run whose config is already known (<see cref="ReadInfo"/>).</summary>
    public static RunResults ReadRun(RunInfo info, bool subjectwise)
    {
        var dir = info.Dir;
        var warnings = new List<string>();
        var overallPath = Path.Combine(dir, EvalFile);
        var fullPath = Path.Combine(dir, EvalFullFile);
        IReadOnlyList<EvalRow> overall = File.Exists(overallPath) ? ReadEvalCsv(overallPath, info.Relations, subjectwise: false, warnings) : [];
        IReadOnlyList<EvalRow> rows;
        if (subjectwise)
        {
            if (!File.Exists(fullPath))
                throw new UserInputException($"Run '{dir}' has no {EvalFullFile} (subject-wise evals), which --subjectwise needs.");
            rows = ReadEvalCsv(fullPath, info.Relations, subjectwise: true, warnings);
        }
        else
        {
            if (!File.Exists(overallPath)) throw new UserInputException($"Run '{dir}' has no {EvalFile}.");
            rows = overall;
        }
        return new RunResults(info, rows, overall, warnings);
    }

    /// <summary>
    /// Parses one eval CSV by its header names. Required: loss, global_step (and subject when
    /// <paramref name="subjectwise"/>); optional: mode (else rows alternate train_onehop/train_twohop), parameter_l2.
    /// </summary>
    public static List<EvalRow> ReadEvalCsv(string path, int relations, bool subjectwise, List<string> warnings)
    {
        using var reader = new StreamReader(path);
        var headerLine = reader.ReadLine();
        if (string.IsNullOrWhiteSpace(headerLine)) throw new UserInputException($"{path} is empty (no header line).");
        var header = SplitCsv(headerLine.TrimStart('\uFEFF'));
        int Col(string name) => Array.FindIndex(header, h => h.Trim() == name);
        int iLoss = Col("loss"), iStep = Col("global_step"), iMode = Col("mode"), iL2 = Col("parameter_l2"), iSubject = Col("subject");
        if (iLoss < 0 || iStep < 0)
            throw new UserInputException($"{path}: header '{headerLine}' lacks the column '{(iLoss < 0 ? "loss" : "global_step")}' (expected loss,global_step,mode,parameter_l2).");
        if (subjectwise && iSubject < 0)
            throw new UserInputException($"{path}: header '{headerLine}' lacks the column 'subject' (subject-wise evals).");

        var rows = new List<EvalRow>();
        var ranges = new Range[header.Length + 1];
        var modeLookup = ModesByName.GetAlternateLookup<ReadOnlySpan<char>>();
        var subjectLookup = Subjects.Names(relations).Select((name, id) => (name, id))
            .ToDictionary(x => x.name, x => x.id, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        var unknownModes = new Dictionary<string, int>();
        var unknownSubjects = new Dictionary<string, int>();
        int nonFinite = 0, lineNo = 1, dataRow = 0;
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            lineNo++;
            if (line.Length == 0) continue;
            // Fast path without allocations per field; quoted lines (rare: pandas quotes only when needed) are split fully.
            string[]? quoted = line.Contains('"') ? SplitCsv(line) : null;
            int fieldCount = quoted?.Length ?? line.AsSpan().Split(ranges, ',');
            if (fieldCount < header.Length)
                throw new UserInputException($"{path}:{lineNo}: {fieldCount} fields, the header has {header.Length}.");
            ReadOnlySpan<char> Field(int i) => quoted != null ? quoted[i].AsSpan() : line.AsSpan(ranges[i]);

            EvalMode mode;
            if (iMode >= 0)
            {
                if (!modeLookup.TryGetValue(Field(iMode).Trim(), out mode))
                {
                    var name = Field(iMode).ToString();
                    unknownModes[name] = unknownModes.GetValueOrDefault(name) + 1;
                    continue;
                }
            }
            else mode = dataRow % 2 == 0 ? EvalMode.TrainOnehop : EvalMode.TrainTwohop;
            dataRow++;

            if (!double.TryParse(Field(iLoss), NumberStyles.Float, CultureInfo.InvariantCulture, out var loss))
                throw new UserInputException($"{path}:{lineNo}: loss '{Field(iLoss)}' is not a number.");
            if (!double.TryParse(Field(iStep), NumberStyles.Float, CultureInfo.InvariantCulture, out var stepD) || stepD < 0 || stepD != Math.Floor(stepD))
                throw new UserInputException($"{path}:{lineNo}: global_step '{Field(iStep)}' is not a non-negative integer.");
            double l2 = double.NaN;
            if (iL2 >= 0 && Field(iL2).Length > 0 && !double.TryParse(Field(iL2), NumberStyles.Float, CultureInfo.InvariantCulture, out l2))
                throw new UserInputException($"{path}:{lineNo}: parameter_l2 '{Field(iL2)}' is not a number.");
            if (!double.IsFinite(loss)) { nonFinite++; continue; }
            int subject = -1;
            if (subjectwise && !subjectLookup.TryGetValue(Field(iSubject).Trim(), out subject))
            {
                var name = Field(iSubject).ToString();
                unknownSubjects[name] = unknownSubjects.GetValueOrDefault(name) + 1;
                continue;
            }
            rows.Add(new EvalRow(mode, (long)stepD, loss, l2, subject));
        }
        foreach (var (mode, count) in unknownModes)
            warnings.Add($"{path}: dropped {count} row(s) with unknown mode '{mode}'.");
        foreach (var (subject, count) in unknownSubjects)
            warnings.Add($"{path}: dropped {count} row(s) with subject '{subject}', not a subject of a {relations}-relation dataset.");
        if (nonFinite > 0) warnings.Add($"{path}: dropped {nonFinite} row(s) whose loss is not finite.");
        if (rows.Count == 0) throw new UserInputException($"{path} has no usable rows.");
        return rows;
    }

    static readonly Dictionary<string, EvalMode> ModesByName = EvalModes.All.ToDictionary(m => m.Name(), StringComparer.Ordinal);

    /// <summary>Splits one CSV line (RFC 4180 quotes; the fast path has none).</summary>
    public static string[] SplitCsv(string line)
    {
        if (!line.Contains('"')) return line.Split(',');
        var fields = new List<string>();
        var sb = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else sb.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(ch);
        }
        fields.Add(sb.ToString());
        return fields.ToArray();
    }
}
