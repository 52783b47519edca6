import factory

from dimensions.models import Branch, CostCenter, Department, Project


class CostCenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CostCenter
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"cc-{n:03d}")
    code = factory.Sequence(lambda n: f"CC{n:03d}")
    name = factory.Sequence(lambda n: f"Cost centre {n}")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"prj-{n:03d}")
    code = factory.Sequence(lambda n: f"P{n:03d}")
    name = factory.Sequence(lambda n: f"Project {n}")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"dep-{n:03d}")
    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"Department {n}")


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"br-{n:03d}")
    code = factory.Sequence(lambda n: f"BR{n:03d}")
    name = factory.Sequence(lambda n: f"Branch {n}")
