namespace MegaFlow.Model.Tokenization;

/// <summary>One chat message as the template sees it.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// The chat template, explicit and versioned: a trained policy is only meaningful with the template
/// it was trained on, so the name is written into every weight manifest and a new layout must get a
/// new name rather than change this one.
/// <para>megaflow-chat-v1, as token ids (B(s) = the UTF-8 bytes of s):</para>
/// <code>
/// prompt    = EndOfText, turn(m1), turn(m2), ..., [TurnStart, B("assistant\n")]   (the last part: generation prompt)
/// turn(m)   = TurnStart, B(m.role), B("\n"), B(m.content), TurnEnd
/// </code>
/// The assistant's answer is generated up to and including TurnEnd, which ends the turn.
/// </summary>
public static class ChatTemplate
{
    public const string Name = "megaflow-chat-v1";

    public static readonly IReadOnlySet<string> Roles = new HashSet<string> { "system", "user", "assistant", "tool" };

    public static int[] Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        var ids = new List<int> { ByteTokenizer.EndOfText };
        foreach (var m in messages)
        {
            if (!Roles.Contains(m.Role))
                throw new ArgumentException($"unknown role '{m.Role}' (expected system, user, assistant or tool)", nameof(messages));
            ids.Add(ByteTokenizer.TurnStart);
            ids.AddRange(ByteTokenizer.Encode(m.Role + "\n"));
            ids.AddRange(ByteTokenizer.Encode(m.Content));
            ids.Add(ByteTokenizer.TurnEnd);
        }
        if (addGenerationPrompt)
        {
            ids.Add(ByteTokenizer.TurnStart);
            ids.AddRange(ByteTokenizer.Encode("assistant\n"));
        }
        return ids.ToArray();
    }

    /// <summary>A plain-text prompt (the completions API): EndOfText, then its bytes.</summary>
    public static int[] RenderText(string prompt) => [ByteTokenizer.EndOfText, .. ByteTokenizer.Encode(prompt)];
}
