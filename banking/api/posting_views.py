"""Posting endpoints: post a document to the GL, reverse it, correct it.

Thin views: they check the body and the caller's permission, call a service in
``banking.posting``, and show the posting. A first post answers 201, a repeat
200 with the same posting (a retry never posts twice). Posting needs the
document's own permission (``banking.post_banktransaction``), reversing and
correcting ``banking.reverse_<model>`` (docs/security.md); under segregation of
duties nobody posts a transaction they created (403).
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounting.selectors import posting_get
from banking import posting
from banking.api.posting_serializers import (
    CorrectionSerializer,
    CorrectRequestSerializer,
    DepositRecordedSerializer,
    DepositRecordSerializer,
    ErrorSerializer,
    FloatReturnRequestSerializer,
    PostingSerializer,
    PostRequestSerializer,
    ReverseRequestSerializer,
)
from cnperp.api import service_errors
from cnperp.permissions import RequiredPermissions


def _errors(ok_status, ok_serializer, ok_text):
    return {
        ok_status: OpenApiResponse(ok_serializer, description=ok_text),
        400: OpenApiResponse(description="Bad body: the answer names the field and the problem."),
        401: OpenApiResponse(ErrorSerializer, description="Not signed in."),
        403: OpenApiResponse(
            ErrorSerializer,
            description="Missing the permission to post or reverse, or the poster created the document "
            "(segregation of duties).",
        ),
        404: OpenApiResponse(ErrorSerializer, description="No document has this id."),
        409: OpenApiResponse(
            ErrorSerializer,
            description="The document's state forbids it: reversed, draft, closed period, no posting rule.",
        ),
    }


def _pk(label):
    return [OpenApiParameter("pk", str, OpenApiParameter.PATH, description=f"The {label}'s id.")]


class PostingActionView(APIView):
    """Validate the body, run the subclass's ``act(pk, data, user)`` and answer with its posting."""

    permission_classes = [IsAuthenticated, RequiredPermissions]
    required_permission = ""
    request_serializer = PostRequestSerializer

    def _body(self, request):
        serializer = self.request_serializer(data=request.data if request.data is not None else {})
        serializer.is_valid(raise_exception=True)
        return serializer

    def _answer(self, journal_posting, created):
        data = PostingSerializer(posting_get(posting_id=journal_posting.pk)).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def post(self, request, pk):
        serializer = self._body(request)
        with service_errors(serializer):
            journal_posting, created = self.act(pk, serializer.validated_data, request.user)
        return self._answer(journal_posting, created)


POST_SUMMARY = "Post to the GL"
POST_OK = {
    201: OpenApiResponse(PostingSerializer, description="Posted now."),
    200: OpenApiResponse(
        PostingSerializer, description="Already posted: the same posting, nothing new written."
    ),
}


class TransactionPostView(PostingActionView):
    required_permission = "banking.post_banktransaction"

    @extend_schema(
        summary=POST_SUMMARY,
        description="Post a draft bank transaction as a balanced GL posting carrying its dimensions. "
        'The body may be `{}` or the deployment guide\'s `{"user_id": "..."}`.',
        request=PostRequestSerializer,
        responses={**_errors(201, PostingSerializer, "Posted now."), **POST_OK},
        parameters=_pk("bank transaction"),
        tags=["posting"],
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, pk, data, user):
        return posting.bank_transaction_post(transaction_id=pk, user=user)


class TransactionReverseView(PostingActionView):
    required_permission = "banking.reverse_banktransaction"
    request_serializer = ReverseRequestSerializer

    @extend_schema(
        summary="Reverse a posted transaction",
        description="Write the mirror posting dated `reversal_date` (in an open period) and mark the "
        "transaction reversed; the original lines stay as they were.",
        request=ReverseRequestSerializer,
        responses=_errors(201, PostingSerializer, "The reversal posting."),
        parameters=_pk("bank transaction"),
        tags=["posting"],
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, pk, data, user):
        return posting.bank_transaction_reverse(transaction_id=pk, user=user, **data), True


class TransactionCorrectView(PostingActionView):
    required_permission = "banking.reverse_banktransaction"
    request_serializer = CorrectRequestSerializer

    @extend_schema(
        summary="Correct a transaction",
        description="Reverse the transaction (if still posted) and create the corrected draft from it in "
        "one action; the draft posts as usual.",
        request=CorrectRequestSerializer,
        responses=_errors(201, CorrectionSerializer, "The corrected draft."),
        parameters=_pk("bank transaction"),
        tags=["posting"],
    )
    def post(self, request, pk):
        serializer = self._body(request)
        with service_errors(serializer):
            draft = posting.bank_transaction_correct(
                transaction_id=pk, user=request.user, **serializer.validated_data
            )
        return Response(CorrectionSerializer(draft).data, status=status.HTTP_201_CREATED)


class CashSubmissionPostView(PostingActionView):
    required_permission = "banking.post_cashsubmission"

    @extend_schema(
        summary=POST_SUMMARY,
        description="Post a branch's cash submission: branch cash out, cash in transit in, any shortage "
        "or overage to cash over/short.",
        request=PostRequestSerializer,
        responses={**_errors(201, PostingSerializer, "Posted now."), **POST_OK},
        parameters=_pk("cash submission"),
        tags=["posting"],
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, pk, data, user):
        return posting.cash_submission_post(submission_id=pk, user=user)


class CashSubmissionReverseView(PostingActionView):
    required_permission = "banking.reverse_cashsubmission"
    request_serializer = ReverseRequestSerializer

    @extend_schema(
        summary="Reverse a posted cash submission",
        request=ReverseRequestSerializer,
        responses=_errors(201, PostingSerializer, "The reversal posting."),
        parameters=_pk("cash submission"),
        tags=["posting"],
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, pk, data, user):
        return posting.cash_submission_reverse(submission_id=pk, user=user, **data), True


class CashSubmissionDepositView(PostingActionView):
    required_permission = "banking.post_cashsubmission"
    request_serializer = DepositRecordSerializer

    @extend_schema(
        summary="Record the bank's deposit of a posted cash submission",
        description="For a submission posted before the bank credited it (all it expected went to cash in "
        "transit): names the deposit that carried the cash, which then posts through cash in transit, and "
        "what reached the bank. A difference from what the branch expected is posted on its own, dated "
        "`deposit_date`: cash in transit to cash over/short (short) or back (over); `difference_posting` "
        "shows it (null when all of it arrived). 201 the first time; the same deposit again is a retry (200, "
        "nothing new); a different one is a 409 `deposit_recorded` (reverse the submission and record it "
        "again). A draft is a 409 `document_draft`: record the deposit on it and post it.",
        request=DepositRecordSerializer,
        responses={
            **_errors(201, DepositRecordedSerializer, "Recorded now."),
            200: OpenApiResponse(DepositRecordedSerializer, description="Already recorded: nothing new."),
        },
        parameters=_pk("cash submission"),
        tags=["posting"],
    )
    def post(self, request, pk):
        serializer = self._body(request)
        data = dict(serializer.validated_data)
        data["deposit_transaction_id"] = data.pop("deposit_transaction").pk
        with service_errors(serializer):
            submission, difference, created = posting.cash_submission_deposit_record(
                submission_id=pk, user=request.user, **data
            )
        answer = DepositRecordedSerializer(
            {
                "cash_submission": submission,
                "difference_posting": None if difference is None else posting_get(posting_id=difference.pk),
            }
        )
        return Response(answer.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class FloatAllocationPostView(PostingActionView):
    required_permission = "banking.post_floatallocation"

    @extend_schema(
        summary=POST_SUMMARY,
        description="Post a float given to a branch: branch float debited, the bank credited.",
        request=PostRequestSerializer,
        responses={**_errors(201, PostingSerializer, "Posted now."), **POST_OK},
        parameters=_pk("float allocation"),
        tags=["posting"],
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, pk, data, user):
        return posting.float_allocation_post(allocation_id=pk, user=user)


class FloatReturnPostView(PostingActionView):
    required_permission = "banking.post_floatallocation"
    request_serializer = FloatReturnRequestSerializer

    @extend_schema(
        summary="Post a float's return (in one go or in instalments)",
        description="`returned_amount` is the total that has come back of the float to date. More than "
        "its returns not reversed already say is posted as a new instalment dated `return_date`: the bank "
        "debited, branch float credited (201, the instalment's posting). The same total is a retry: nothing "
        "new, 200 with the latest return's posting. Less is a 409 `returned_amount_below_returned`: a "
        "return is taken back by reversing it (`float-returns/{id}/reverse`).",
        request=FloatReturnRequestSerializer,
        responses={
            **_errors(201, PostingSerializer, "A new instalment, posted now."),
            200: OpenApiResponse(
                PostingSerializer,
                description="The total is already posted: the latest return's posting, nothing new written.",
            ),
        },
        parameters=_pk("float allocation"),
        tags=["posting"],
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, pk, data, user):
        return posting.float_return_post(allocation_id=pk, user=user, **data)


class FloatAllocationReverseView(PostingActionView):
    required_permission = "banking.reverse_floatallocation"
    request_serializer = ReverseRequestSerializer

    @extend_schema(
        summary="Reverse a posted float allocation",
        request=ReverseRequestSerializer,
        responses=_errors(201, PostingSerializer, "The reversal posting."),
        parameters=_pk("float allocation"),
        tags=["posting"],
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, pk, data, user):
        return posting.float_allocation_reverse(allocation_id=pk, user=user, **data), True


class FloatReturnReverseView(PostingActionView):
    required_permission = "banking.reverse_floatallocation"
    request_serializer = ReverseRequestSerializer

    @extend_schema(
        summary="Reverse one return of a float",
        description="Write the mirror of the return's posting dated `reversal_date` (in an open period, "
        "not in a signed-off month of the float's bank account) and mark the return reversed; the float's "
        "returned amount and status are worked out again from its other returns. The float's returns are "
        "listed with their ids under `returns` on `float-allocations/{id}`.",
        request=ReverseRequestSerializer,
        responses=_errors(201, PostingSerializer, "The reversal posting."),
        parameters=_pk("float return"),
        tags=["posting"],
    )
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, pk, data, user):
        return posting.float_return_reverse(return_id=pk, user=user, **data), True
