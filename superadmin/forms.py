from django import forms

# Z8/X2: the organisation reads this reason in its own audit log; a word or two is not one.
SUPPORT_REASON_MIN_LENGTH = 15


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=63, help_text="Lower-case letters, digits and hyphens; used in the portal URL."
    )


class StatusChangeForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False, widget=forms.Textarea)


class SupportAccessForm(forms.Form):
    reason = forms.CharField(
        min_length=SUPPORT_REASON_MIN_LENGTH,
        max_length=500,
        widget=forms.Textarea,
        help_text="Why you need to look, e.g. the ticket number and question. The "
        "organisation sees this in its own audit log.",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if len(reason) < SUPPORT_REASON_MIN_LENGTH:
            raise forms.ValidationError(
                f"State the reason in at least {SUPPORT_REASON_MIN_LENGTH} characters."
            )
        return reason


class UserSearchForm(forms.Form):
    q = forms.CharField(max_length=254, required=False, label="Email contains")
