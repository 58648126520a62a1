using System.CommandLine;
using ActorLab.Model.Common;

namespace ActorLab.Host.Cli;

/// <summary>
/// The `actorlab` command line. Each command group lives in its own file and contributes a
/// <see cref="Command"/>; bad input surfaces as <see cref="UserInputException"/> and becomes one line on
/// stderr and exit code 2, never a stack trace.
/// </summary>
public static class CliApp
{
    public const int ExitUserError = 2;

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("ActorLab: measure what small transformers store (bits per parameter) on synthetic biographies.");
        foreach (var command in CommandGroups())
            root.Subcommands.Add(command);
        RefuseEmptyValues(root);
        return root;
    }

    /// <summary>
    /// An empty or blank value (`--out ''`, `--data-dir " "`) is never meaningful: every string option and argument of
    /// every command refuses it at parse time, naming the option, before any command runs.
    /// </summary>
    static void RefuseEmptyValues(Command command)
    {
        foreach (var option in command.Options)
            if (option.ValueType == typeof(string) || option.ValueType == typeof(string[]))
                option.Validators.Add(r =>
                {
                    if (r.Tokens.Any(t => string.IsNullOrWhiteSpace(t.Value))) r.AddError($"{option.Name} is empty; give a value.");
                });
        foreach (var argument in command.Arguments)
            if (argument.ValueType == typeof(string) || argument.ValueType == typeof(string[]))
                argument.Validators.Add(r =>
                {
                    if (r.Tokens.Any(t => string.IsNullOrWhiteSpace(t.Value))) r.AddError($"{argument.Name} is empty; give a value.");
                });
        foreach (var sub in command.Subcommands) RefuseEmptyValues(sub);
    }

    /// <summary>Every command group, in the order `actorlab --help` lists them.</summary>
    static IEnumerable<Command> CommandGroups()
    {
        yield return ProfilesCommands.Build();
        yield return TokenizerCommands.Build();
        yield return QaCommands.Build();
        foreach (var command in TrainCommands.Build()) yield return command;
        yield return LogitsCommands.Build();
        foreach (var command in CapacityCommands.Build()) yield return command;
        yield return ProbeCommands.Build();
        yield return GeneralizationCommands.Build();
        yield return RunsCommands.Build();
        yield return SweepCommands.Build();
        yield return NodeCommands.Build();
        yield return ConsoleCommands.Build();
        yield return CertsCommands.Build();
        yield return DbCommands.Build();
        yield return TokenCommands.Build();
    }

    public static int Run(string[] args)
    {
        try
        {
            var parse = BuildRoot().Parse(args);
            // Malformed flags (unknown option, "--n abc", missing value) are bad input like any other:
            // one line per problem naming it, exit 2, rather than System.CommandLine's exit 1 and full help.
            if (parse.Errors.Count > 0 && !IsHelpRequest(args))
            {
                // one error line however many problems there are (the first few, in order)
                var messages = parse.Errors.Select(e => e.Message).Distinct().ToList();
                var more = messages.Count > 3 ? $" (and {messages.Count - 3} more)" : "";
                var hint = DidYouMean(parse) is { } h ? h + "; " : "";
                Console.Error.WriteLine($"error: {OneLine(hint + string.Join("; ", messages.Take(3)) + more)}");
                var command = string.Join(" ", CommandPath(parse.CommandResult));
                Console.Error.WriteLine($"See 'actorlab {command}{(command.Length > 0 ? " " : "")}--help'.");
                return ExitUserError;
            }
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Unwrap(e) is UserInputException u)
        {
            Console.Error.WriteLine($"error: {OneLine(u.Message)}");
            return ExitUserError;
        }
        catch (Exception e) when (Unwrap(e) is UnauthorizedAccessException or IOException)
        {
            // the file system said no (read-only folder, full disk, missing file): its message names the path
            Console.Error.WriteLine($"error: {OneLine(Unwrap(e).Message)}");
            return ExitUserError;
        }
        catch (Exception e) when (Unwrap(e) is OutOfMemoryException)
        {
            Console.Error.WriteLine("error: out of memory; use a smaller model, batch or dataset.");
            return 1;
        }
    }

    /// <summary>
    /// An error message as one printable line of bounded length: messages can carry text from a damaged file or a
    /// hostile path (newlines, terminal escapes, binary bytes), which must not reach the terminal as they are.
    /// </summary>
    /// <summary>"unknown command 'sweeep': did you mean 'sweep'?" for the first unmatched word close to a command or option here.</summary>
    internal static string? DidYouMean(ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r != null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            var c = r.Command;
            if (r == parse.CommandResult) names.AddRange(c.Subcommands.SelectMany(s => s.Aliases.Prepend(s.Name)));
            names.AddRange(c.Options.Where(o => r == parse.CommandResult || o.Recursive).SelectMany(o => o.Aliases.Prepend(o.Name)));
        }
        foreach (var token in parse.UnmatchedTokens)
        {
            var best = names.Where(n => n.StartsWith('-') == token.StartsWith('-'))
                .Select(n => (Name: n, Distance: Distance(token, n)))
                .Where(x => x.Distance > 0 && x.Distance <= Math.Max(1, x.Name.TrimStart('-').Length / 3))
                .OrderBy(x => x.Distance).ThenBy(x => x.Name, StringComparer.Ordinal).FirstOrDefault();
            if (best.Name != null) return $"unknown {(token.StartsWith('-') ? "option" : "command")} '{token}': did you mean '{best.Name}'?";
        }
        return null;
    }

    /// <summary>Edit distance (insertions, deletions, substitutions) between two short words.</summary>
    internal static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    public static string OneLine(string message, int maxLength = 600)
    {
        var sb = new System.Text.StringBuilder(Math.Min(message.Length, maxLength + 1));
        foreach (var r in message.Trim().EnumerateRunes()) // a lone surrogate comes out as U+FFFD
        {
            if (sb.Length >= maxLength) { sb.Append('…'); break; }
            if (r.Value is '\n' or '\r' or '\t') sb.Append(' ');
            else if (r == System.Text.Rune.ReplacementChar || System.Text.Rune.IsControl(r) ||
                     System.Text.Rune.GetUnicodeCategory(r) is System.Globalization.UnicodeCategory.Format
                         or System.Globalization.UnicodeCategory.OtherNotAssigned or System.Globalization.UnicodeCategory.PrivateUse)
                sb.Append('?');
            else sb.Append(r.ToString());
        }
        return sb.ToString();
    }

    static bool IsHelpRequest(string[] args) => args.Any(a => a is "--help" or "-h" or "-?");

    static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new List<string>();
        for (System.CommandLine.Parsing.SymbolResult? r = result; r is System.CommandLine.Parsing.CommandResult c && c.Parent != null; r = r.Parent)
            names.Insert(0, c.Command.Name);
        return names;
    }

    static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerException: not null } || e is System.Reflection.TargetInvocationException { InnerException: not null })
            e = e.InnerException!;
        return e;
    }
}
